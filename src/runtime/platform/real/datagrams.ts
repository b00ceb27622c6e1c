// UDP through node:dgram, behind a small adapter so the simulation's UDP and
// this one look alike; raw IP sockets (VRRP, AH) through the raw-socket
// addon (raw-socket.ts), which needs root or CAP_NET_RAW.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Datagrams, RawSocket, UdpSocket } from '../types.js';
import { linuxRawSocketHost, openRealRawSocket, type RawSocketHost } from './raw-socket.js';

export interface RealDatagramsOptions {
  /** The addon and interface lookups behind raw sockets; tests pass a fake. */
  rawSocketHost?: RawSocketHost;
}

export function createRealDatagrams(options: RealDatagramsOptions = {}): Datagrams {
  const rawSocketHost = options.rawSocketHost ?? linuxRawSocketHost;
  return {
    async udp(options) {
      const socket = dgram.createSocket({ type: 'udp4' });
      await new Promise<void>((resolve, reject) => {
        const onBindError = (error: Error): void => {
          socket.close();
          reject(error);
        };
        socket.once('error', onBindError);
        socket.bind({ address: options.address, port: options.port ?? 0 }, () => {
          socket.removeListener('error', onBindError);
          resolve();
        });
      });
      return new RealUdpSocket(socket);
    },

    async raw(rawOptions): Promise<RawSocket> {
      return openRealRawSocket(rawOptions, rawSocketHost);
    },
  };
}

class RealUdpSocket extends EventEmitter implements UdpSocket {
  readonly #socket: dgram.Socket;
  readonly address: string;
  readonly port: number;
  #closed = false;

  constructor(socket: dgram.Socket) {
    super();
    this.#socket = socket;
    const bound = socket.address();
    this.address = bound.address;
    this.port = bound.port;
    socket.on('message', (data, remote) => {
      this.emit('message', data, { address: remote.address, port: remote.port, size: remote.size });
    });
    socket.on('error', (error) => this.emit('error', error));
  }

  send(data: Buffer, port: number, address: string): void {
    // Send errors (EHOSTUNREACH) arrive asynchronously as 'error', like an
    // unconnected dgram socket without a callback.
    this.#socket.send(data, port, address, (error) => {
      if (error) this.emit('error', error);
    });
  }

  addMembership(group: string, interfaceAddress?: string): void {
    this.#socket.addMembership(group, interfaceAddress);
  }

  dropMembership(group: string, interfaceAddress?: string): void {
    this.#socket.dropMembership(group, interfaceAddress);
  }

  setBroadcast(enabled: boolean): void {
    this.#socket.setBroadcast(enabled);
  }

  setMulticastTtl(ttl: number): void {
    this.#socket.setMulticastTTL(ttl);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}
