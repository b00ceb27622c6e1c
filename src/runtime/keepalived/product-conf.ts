// The keepalived.conf the product renders on every master: the same priority
// everywhere, no preemption, AH authentication, and a health check of the
// local apiserver that puts the instance into FAULT after 6 failed checks
// 10 s apart. Options exist so scenarios can vary one thing at a time.
import { CHECK_APISERVER_PATH } from '../kube/check-apiserver.js';

export interface ProductConfOptions {
  vip: string;
  /** auth_pass: keepalived uses at most 8 characters. */
  password: string;
  iface?: string;
  vrid?: number;
  priority?: number;
  /** The product sets nopreempt; the `preempt` scenario turns it off. */
  nopreempt?: boolean;
  advertIntervalS?: number;
}

export function renderProductKeepalivedConf(options: ProductConfOptions): string {
  const { vip, password, iface = 'eth0', vrid = 51, priority = 100, nopreempt = true, advertIntervalS = 1 } = options;
  return [
    `vrrp_script chk_apiserver { script "${CHECK_APISERVER_PATH}"`,
    '  interval 10  fall 6  rise 2  user pf9 }',
    'global_defs { enable_script_security  script_user pf9',
    '  vrrp_garp_master_refresh 10  vrrp_garp_master_refresh_repeat 2 }',
    `vrrp_instance K8S_APISERVER { interface ${iface}  state BACKUP  virtual_router_id ${vrid}${nopreempt ? '  nopreempt' : ''}`,
    `  priority ${priority}  advert_int ${advertIntervalS}`,
    `  authentication { auth_type AH  auth_pass ${password} }`,
    `  virtual_ipaddress { ${vip} }  track_script { chk_apiserver } }`,
    '',
  ].join('\n');
}
