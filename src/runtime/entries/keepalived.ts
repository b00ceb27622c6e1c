// dist/keepalived.mjs -f <keepalived.conf> [-n] [-l] [-D]
import { runService } from '../platform/real/run-service.js';
import { keepalivedMain } from '../keepalived/daemon.js';

await runService('keepalived', keepalivedMain);
