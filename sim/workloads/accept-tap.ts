// A backend watched from outside its code: a platform whose stream listeners
// hand every accepted connection to `watch` before the server sees it, so
// that the watcher's 'data' listener comes first and nothing escapes it.
import type { Platform, StreamSocket } from '../../src/runtime/platform/types.js';

export function tapAcceptedStreams(platform: Platform, watch: (socket: StreamSocket) => void): Platform {
  return {
    ...platform,
    streams: {
      ...platform.streams,
      listen: (options, onConnection) =>
        platform.streams.listen(options, (socket) => {
          watch(socket);
          onConnection(socket);
        }),
    },
  };
}
