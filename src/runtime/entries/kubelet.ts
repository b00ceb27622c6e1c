// dist/kubelet.mjs --apiserver host:port --node <name> [--lease-renew-interval-ms N]
import { runService } from '../platform/real/run-service.js';
import { kubeletMain } from '../kube/kubelet.js';

await runService('kubelet', async (platform, args) => kubeletMain(platform, args));
