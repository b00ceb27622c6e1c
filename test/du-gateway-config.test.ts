// The DU gateway's configuration file and revocation list: bad input names
// the file, line, column and key; the service main refuses to start on it
// (the real entry exits 2 on ERR_CONFIG_*).
import { describe, expect, it } from 'vitest';
import { parseJsonDocument } from '../src/runtime/config/json-document.js';
import { loadDuGatewayConfig, duGatewayMain } from '../src/runtime/du/main.js';
import { readRevocationFile } from '../src/runtime/du/revocation.js';
import type { Files } from '../src/runtime/platform/types.js';
import { World } from '../sim/network/world.js';

const tls = '"tls": {"certFile": "/c", "keyFile": "/k", "caFile": "/ca"}';
const service = '{"sni": "registry.du.pf9lab", "backend": {"host": "198.18.1.10", "port": 5000}}';
const listen = '"listen": {"host": "0.0.0.0", "port": 443}';

function configProblem(text: string): string {
  try {
    loadDuGatewayConfig(parseJsonDocument(text, 'du.json'), 'du.json');
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('du-gateway configuration', () => {
  it.each([
    [`{${listen}, ${tls}, "services": [${service}]}`, 'ok'],
    [`{${listen}, ${tls}, "services": [${service}], "idleTimeoutMs": 1000, "connectionsPerHostMax": 4}`, 'ok'],
    [`{${listen}, ${tls}, "services": [${service}], "keepAliveIdleMs": 30000}`, 'ok'],
    [`{${listen}, ${tls}}`, 'ERR_CONFIG_INVALID: du.json:1:1: services: is required'],
    [`{${listen}, ${tls}, "services": []}`, 'ERR_CONFIG_INVALID: du.json:1:'],
    [`{${listen},\n ${tls},\n "services": [${service}, {"sni": "bad name!", "backend": {"host": "x", "port": 1}}]}`,
      'ERR_CONFIG_INVALID: du.json:3:'],
    [`{${listen}, ${tls}, "services": [${service}, ${service}]}`, 'ERR_CONFIG_INVALID: du.json:1:'],
    [`{${listen}, ${tls}, "services": [{"sni": "a.b", "backend": {"host": "198.18.1.10", "port": 0}}]}`,
      'ERR_CONFIG_INVALID: du.json:1:'],
    [`{${listen}, "tls": {"certFile": "/c", "keyFile": "/k"}, "services": [${service}]}`, 'ERR_CONFIG_INVALID: du.json:1:'],
    [`{${listen}, ${tls}, "services": [${service}],\n  "idleTimeoutMs": -5}`, 'ERR_CONFIG_INVALID: du.json:2:20: idleTimeoutMs: must be an integer in [1,'],
    [`{${listen}, ${tls}, "services": [${service}], "connectionsPerHostMax": "4"}`, 'ERR_CONFIG_INVALID: du.json:1:'],
    [`{${listen}, ${tls}, "services": [${service}], "backend": {}}`, 'ERR_CONFIG_INVALID: du.json:1:'],
  ])('%s → %s', (text, expected) => {
    expect(configProblem(text).startsWith(expected)).toBe(true);
  });

  it.each([
    [`{${listen},\n ${tls},\n "services": [${service}, {"sni": "bad name!", "backend": {"host": "x", "port": 1}}]}`, 'services[1].sni: must be a DNS name'],
    [`{${listen}, ${tls}, "services": [${service}, ${service}]}`, 'services[1].sni: duplicate service name'],
    [`{${listen}, ${tls}, "services": [{"sni": "a.b", "backend": {"host": "198.18.1.10", "port": 0}}]}`, 'services[0].backend.port: must be an integer in [1, 65535]'],
    [`{${listen}, "tls": {"certFile": "/c", "keyFile": "/k"}, "services": [${service}]}`, 'tls.caFile: is required'],
    [`{${listen}, ${tls}, "services": [${service}], "connectionsPerHostMax": "4"}`, 'connectionsPerHostMax: must be an integer, got the string "4"'],
    [`{${listen}, ${tls}, "services": [${service}], "backend": {}}`, 'backend: unknown key'],
    [`{${listen}, ${tls}, "services": []}`, 'services: must name at least one service'],
    [`{${listen}, ${tls}, "services": [${service}], "keepAliveIdleMs": 500}`, 'keepAliveIdleMs: must be an integer in [1000, 86400000], got 500'],
  ])('names the field: %s', (text, field) => {
    expect(configProblem(text)).toContain(field);
  });

  it('refuses to start in the simulation on a bad file, naming it', async () => {
    const world = new World({ seed: 1 });
    const host = world.host('du');
    world.attach(host, world.segment('lan'), '198.18.0.2/24');
    let failure: unknown;
    host.onBoot(async (platform) => {
      await platform.files.writeFile('/du.json', `{${listen}, ${tls}, "services": [${service}], "idleTimeoutMs": 0}`);
      try {
        await duGatewayMain(platform, ['--config', '/du.json']);
      } catch (error) {
        failure = error;
      }
    });
    await world.run({ untilMs: 100 });
    expect((failure as { code?: string }).code).toBe('ERR_CONFIG_INVALID');
    expect(String(failure)).toContain('/du.json:1:');
    expect(String(failure)).toContain('idleTimeoutMs');
  });

  it('a missing certificate file is a configuration error naming the file', async () => {
    const world = new World({ seed: 1 });
    const host = world.host('du');
    world.attach(host, world.segment('lan'), '198.18.0.2/24');
    let failure: unknown;
    host.onBoot(async (platform) => {
      await platform.files.writeFile('/du.json', `{${listen}, ${tls}, "services": [${service}]}`);
      try {
        await duGatewayMain(platform, ['--config', '/du.json']);
      } catch (error) {
        failure = error;
      }
    });
    await world.run({ untilMs: 100 });
    expect((failure as { code?: string }).code).toBe('ERR_CONFIG_READ');
    expect(String(failure)).toMatch(/\/c|\/k|\/ca/);
  });
});

/** Just enough of Files for readRevocationFile: one file, or ENOENT. */
function oneFile(text: string | undefined): Files {
  return {
    readFile: async () => {
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return Buffer.from(text);
    },
  } as unknown as Files;
}

describe('revocation list (the PKI format)', () => {
  it('parses the PKI\'s list; serials match in any hex spelling', async () => {
    const text = JSON.stringify({ format: 'pf9lab-revocation-list/v1', entries: [{ serialHex: '004a3b', reason: 'keyCompromise', revokedAtMs: 7 }] });
    const { list, text: read } = await readRevocationFile(oneFile(text), 'revoked.json');
    expect(read).toBe(text);
    expect(list.size).toBe(1);
    expect(list.lookup('4A3B')).toMatchObject({ serialHex: '4a3b', reason: 'keyCompromise', revokedAtMs: 7 });
    expect(list.lookup('4a3b')?.reason).toBe('keyCompromise');
    expect(list.lookup('4A3C')).toBeUndefined();
  });

  it.each([
    ['{"revoked": []}', 'ERR_CONFIG_INVALID: revoked.json: ERR_PKI_MALFORMED: revocation list must be'],
    ['{"format": "pf9lab-revocation-list/v1", "entries": [{"serialHex": "xyz", "reason": "unspecified", "revokedAtMs": 0}]}', "not a hex serial: 'xyz'"],
    ['{"format": "pf9lab-revocation-list/v1", "entries": [{"serialHex": "4a3b", "reason": "lost", "revokedAtMs": 0}]}', "unknown revocation reason 'lost'"],
    ['{"format": "pf9lab-revocation-list/v1", "entries": [{"reason": "unspecified"}]}', 'revocation entry 0: needs serialHex'],
    ['{"format": "pf9lab-revocation-list/v1", "entries": [', 'ERR_CONFIG_INVALID: revoked.json: ERR_PKI_MALFORMED: revocation list is not JSON'],
  ])('rejects %s', async (text, problem) => {
    await expect(readRevocationFile(oneFile(text), 'revoked.json')).rejects.toThrow(problem);
  });

  it('refuses a missing file (it was named in the configuration)', async () => {
    await expect(readRevocationFile(oneFile(undefined), 'revoked.json')).rejects.toMatchObject({ code: 'ERR_CONFIG_READ' });
  });
});
