// The keepalived service: reads keepalived.conf, runs one VRRP instance per
// vrrp_instance block and the vrrp_scripts they track. A configuration error
// stops it before anything is applied: no socket, no address, no script.
import type { InterfaceInfo, Log, Platform, Service, TimerHandle } from '../platform/types.js';
import { ConfigError } from '../config/config-error.js';
import { readConfigText } from '../config/load.js';
import { parseKeepalivedConf, type KeepalivedConf } from './conf/index.js';
import { parseKeepalivedArgs } from './args.js';
import { InstanceDriver } from './instance-driver.js';
import { TrackScript } from './track-script.js';
import { evaluateTracking, type TrackedInput } from './vrrp/tracking.js';
import type { VrrpState } from './vrrp/instance.js';

const INTERFACE_POLL_MS = 1_000;

export interface InstanceStatus {
  name: string;
  state: VrrpState;
  priority: number;
  drops: Record<string, number>;
}

export interface KeepalivedService extends Service {
  instances(): InstanceStatus[];
}

export async function keepalivedMain(platform: Platform, args: readonly string[]): Promise<KeepalivedService> {
  const { configPath } = parseKeepalivedArgs(args);
  const conf = parseKeepalivedConf(await readConfigText(platform.files, configPath), { fileName: configPath });
  const log = platform.log.child({ service: 'keepalived' });
  for (const warning of conf.warnings) log.warn('conf.warning', { file: configPath, line: warning.line, column: warning.column, message: warning.message });
  const interfaces = await platform.addresses.list();
  const drivers = conf.instances.map(
    (instance) => new InstanceDriver({ platform, conf: instance, primaryIp: primaryIpOf(configPath, instance.name, instance.iface, instance.unicastSourceIp, interfaces), log }),
  );
  try {
    for (const driver of drivers) await driver.open();
  } catch (error) {
    await Promise.all(drivers.map((driver) => driver.stop()));
    throw error;
  }
  return runInstances(platform, log, conf, drivers);
}

function runInstances(platform: Platform, log: Log, conf: KeepalivedConf, drivers: InstanceDriver[]): KeepalivedService {
  const ifaceUp = new Map<string, boolean>();
  const scripts = new Map<string, TrackScript>();
  const retrack = (): void => {
    for (const driver of drivers) {
      const outcome = evaluateTracking(trackedInputs(driver));
      driver.setTracking(outcome.priorityDelta, outcome.faultReason);
    }
  };
  const trackedInputs = (driver: InstanceDriver): TrackedInput[] => {
    const instance = driver.conf;
    const inputs: TrackedInput[] = [];
    for (const ref of instance.trackScripts) {
      const script = scripts.get(ref.name);
      if (script === undefined) continue;
      inputs.push({ name: `script ${ref.name}`, weight: ref.weight ?? script.conf.weight, healthy: script.verdict.healthy });
    }
    for (const ref of instance.trackInterfaces) {
      inputs.push({ name: `interface ${ref.iface}`, weight: ref.weight, healthy: ifaceUp.get(ref.iface) ?? false });
    }
    return inputs;
  };

  for (const instance of conf.instances) {
    for (const ref of instance.trackScripts) {
      const scriptConf = conf.scripts.get(ref.name);
      if (scriptConf !== undefined && !scripts.has(ref.name)) scripts.set(ref.name, new TrackScript(platform, log, scriptConf, retrack));
    }
  }

  let interfaceTimer: TimerHandle | undefined;
  const trackedIfaces = new Set(conf.instances.flatMap((instance) => instance.trackInterfaces.map((ref) => ref.iface)));
  const pollInterfaces = async (): Promise<void> => {
    const infos = await platform.addresses.list();
    let changed = false;
    for (const iface of trackedIfaces) {
      const up = infos.some((info) => info.name === iface && info.up);
      if (ifaceUp.get(iface) !== up) changed = true;
      ifaceUp.set(iface, up);
    }
    if (changed) retrack();
  };

  const start = async (): Promise<void> => {
    if (trackedIfaces.size > 0) {
      await pollInterfaces();
      interfaceTimer = platform.clock.setInterval(() => void pollInterfaces().catch((error: unknown) => log.warn('vrrp.interface_poll_failed', { message: String(error) })), INTERFACE_POLL_MS);
    }
    retrack();
    for (const driver of drivers) driver.start();
    for (const script of scripts.values()) script.start();
  };
  const started = start();

  return {
    instances: () =>
      drivers.map((driver) => ({
        name: driver.instance.settings.name,
        state: driver.state,
        priority: driver.instance.priority,
        drops: Object.fromEntries(driver.drops),
      })),
    async stop() {
      await started;
      platform.clock.clearTimer(interfaceTimer);
      for (const script of scripts.values()) script.stop();
      await Promise.all(drivers.map((driver) => driver.stop()));
      log.info('keepalived.stopped', {});
    },
  };
}

function primaryIpOf(file: string, instance: string, iface: string, configured: string | undefined, interfaces: readonly InterfaceInfo[]): string {
  if (configured !== undefined) return configured;
  const info = interfaces.find((candidate) => candidate.name === iface);
  if (info === undefined) throw new ConfigError('ERR_CONFIG_INVALID', file, `vrrp_instance ${instance}: no interface ${JSON.stringify(iface)} on this host`);
  const address = info.addresses.find((entry) => !entry.address.includes(':'));
  if (address === undefined) throw new ConfigError('ERR_CONFIG_INVALID', file, `vrrp_instance ${instance}: interface ${iface} has no IPv4 address`);
  return address.address;
}
