// Loaded with `node --import`: records every module URL the ESM loader resolves, in globalThis.__resolved.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
globalThis.__resolved = [];
port1.on('message', (url) => globalThis.__resolved.push(url));
port1.unref();
register('./import-log-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
