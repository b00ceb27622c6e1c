// dist/comms.mjs --config <file.json>
import { runService } from '../platform/real/run-service.js';
import { commsMain } from '../comms/main.js';

await runService('comms', commsMain);
