// /opt/pf9/pf9-kube/vrrp_check_apiserver.sh, the product's keepalived health
// check: exit 0 when the local apiserver's /healthz answers 200.
import type { CommandMain } from '../platform/types.js';
import { APISERVER_PORT } from './apiserver-standin.js';
import { httpGet } from './http-lite.js';

export const CHECK_APISERVER_PATH = '/opt/pf9/pf9-kube/vrrp_check_apiserver.sh';
const CHECK_TIMEOUT_MS = 3_000;

export const checkApiserverMain: CommandMain = async (platform) => {
  try {
    const response = await httpGet(platform, { host: '127.0.0.1', port: APISERVER_PORT, path: '/healthz', timeoutMs: CHECK_TIMEOUT_MS });
    return response.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
};
