// The simulated implementation of the platform seam, one view per process:
// everything it opens belongs to that process and dies with it.
import type {
  Addresses,
  ConnectOptions,
  Datagrams,
  InterfaceInfo,
  ListenOptions,
  Platform,
  Processes,
  RawSocket,
  StreamListener,
  StreamSocket,
  Streams,
  UdpSocket,
} from '../../src/runtime/platform/types.js';
import { PlatformError } from '../../src/runtime/platform/errors.js';
import { createNodeTls } from '../../src/runtime/platform/node-tls.js';
import { formatIpv4, IPV4_ANY, parseIpv4 } from './ip.js';
import type { ProcessContext, Releasable } from './process.js';
import type { SimHost } from './host.js';
import { SimClock } from './sim-clock.js';
import { SimFiles } from './sim-files.js';
import { SimLog } from './sim-log.js';
import { SimSocket } from './stack/sim-socket.js';
import { never } from './never.js';

const LISTEN_BACKLOG_DEFAULT = 511;

export function createSimPlatform(host: SimHost, context: ProcessContext, random = host.rng.fork(context.label)): Platform {
  const engine = host.world.engine;
  const jitterMs = host.schedulerJitterMs;
  const clock = new SimClock(engine, context, jitterMs > 0 ? () => host.schedulerRng.int(jitterMs + 1) : undefined);
  return {
    hostName: host.name,
    clock,
    random,
    streams: simStreams(host, context),
    tls: createNodeTls(clock),
    datagrams: simDatagrams(host, context),
    addresses: simAddresses(host, context),
    processes: processesFor(host, context),
    files: new SimFiles(() => host.disk, engine, context, host.fsyncLatencyMs),
    log: new SimLog(host, context, { proc: context.label.slice(host.name.length + 1) }),
  };
}

function simStreams(host: SimHost, context: ProcessContext): Streams {
  return {
    connect(options: ConnectOptions): StreamSocket {
      const socket = new SimSocket(host, context, { allowHalfOpen: options.allowHalfOpen ?? false });
      if (!context.alive) return socket;
      holdUntilClosed(context, socket);
      socket.startConnect(options.host, options.port, options.localAddress);
      if (options.keepAliveIdleMs !== undefined) socket.setKeepAlive(true, options.keepAliveIdleMs);
      return socket;
    },

    async listen(options: ListenOptions, onConnection: (socket: StreamSocket) => void): Promise<StreamListener> {
      if (!context.alive) return never();
      const address = parseIpv4(options.host);
      const listener = host.stack.tcp.listen({
        address,
        port: options.port,
        backlog: options.backlog ?? LISTEN_BACKLOG_DEFAULT,
        allowHalfOpen: options.allowHalfOpen ?? false,
        owner: context,
        adopt: (socket) => {
          if (!context.alive) return false;
          holdUntilClosed(context, socket);
          return true;
        },
        onConnection,
      });
      const releasable: Releasable = { release: () => host.stack.tcp.unlisten(listener) };
      context.track(releasable);
      return {
        address: address === IPV4_ANY ? '0.0.0.0' : formatIpv4(address),
        port: listener.options.port,
        close: () => {
          host.stack.tcp.unlisten(listener);
          context.untrack(releasable);
          return Promise.resolve();
        },
      };
    },
  };
}

function holdUntilClosed(context: ProcessContext, socket: SimSocket): void {
  const releasable: Releasable = { release: () => socket.destroy() };
  context.track(releasable);
  socket.once('close', () => context.untrack(releasable));
}

function simDatagrams(host: SimHost, context: ProcessContext): Datagrams {
  return {
    async udp(options: { address?: string; port?: number }): Promise<UdpSocket> {
      if (!context.alive) return never();
      const socket = host.stack.udp.bind(context, options.address, options.port);
      const releasable: Releasable = { release: () => void socket.close() };
      context.track(releasable);
      socket.once('close', () => context.untrack(releasable));
      return socket;
    },
    async raw(options: { protocol: number; iface?: string }): Promise<RawSocket> {
      if (!context.alive) return never();
      const socket = host.stack.raw.open(context, options.protocol, options.iface);
      context.track({ release: () => void socket.close() });
      return socket;
    },
  };
}

function simAddresses(host: SimHost, context: ProcessContext): Addresses {
  const nicNamed = (name: string) => host.stack.requireNic(name, 'ioctl');
  return {
    async list(): Promise<InterfaceInfo[]> {
      if (!context.alive) return never();
      return host.nics.map((nic) => ({
        name: nic.name,
        mac: nic.mac,
        up: nic.up,
        addresses: nic.addresses.map((entry) => ({ address: formatIpv4(entry.address), prefixLength: entry.prefixLength })),
      }));
    },
    async add(iface: string, address: string, prefixLength: number): Promise<void> {
      if (!context.alive) return never();
      const nic = nicNamed(iface);
      const ip = parseIpv4(address);
      if (nic.hasAddress(ip)) throw new PlatformError('EEXIST', `${address} is already on ${host.name}/${iface}`);
      nic.addresses.push({ address: ip, prefixLength });
      host.world.engine.record(host.name, 'addr.add', { iface, address: `${address}/${prefixLength}` });
    },
    async remove(iface: string, address: string, prefixLength: number): Promise<void> {
      if (!context.alive) return never();
      const nic = nicNamed(iface);
      const ip = parseIpv4(address);
      const index = nic.addresses.findIndex((entry) => entry.address === ip && entry.prefixLength === prefixLength);
      if (index < 0) throw new PlatformError('EADDRNOTAVAIL', `${address}/${prefixLength} is not on ${host.name}/${iface}`);
      nic.addresses.splice(index, 1);
      host.world.engine.record(host.name, 'addr.remove', { iface, address: `${address}/${prefixLength}` });
    },
    async gratuitousArp(iface: string, address: string): Promise<void> {
      if (!context.alive) return never();
      const nic = nicNamed(iface);
      nic.neighbors.announce(parseIpv4(address));
      host.world.engine.record(host.name, 'arp.gratuitous', { iface, address });
    },
  };
}

function processesFor(host: SimHost, context: ProcessContext): Processes {
  return {
    start: (spec) => (context.alive ? host.processes.start(spec) : never()),
    stop: (name, options) => (context.alive ? host.processes.stop(name, options) : never()),
    status: (name) => host.processes.status(name),
    list: () => host.processes.list(),
    watch: (listener) => host.processes.watchAs(context, listener),
    exec: (command, args, options) => (context.alive ? host.processes.exec(command, args, options) : never()),
  };
}
