// dist/du-gateway.mjs --config <file.json>
import { runService } from '../platform/real/run-service.js';
import { duGatewayMain } from '../du/main.js';

await runService('du-gateway', duGatewayMain);
