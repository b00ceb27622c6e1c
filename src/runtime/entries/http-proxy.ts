// dist/http-proxy.mjs --config <file.json>
import { runService } from '../platform/real/run-service.js';
import { proxyMain } from '../proxy/main.js';

await runService('http-proxy', proxyMain);
