// dist/apiserver.mjs [--listen host:port] [--etcd host:port]
import { runService } from '../platform/real/run-service.js';
import { apiserverStandinMain } from '../kube/apiserver-standin.js';

await runService('apiserver', apiserverStandinMain);
