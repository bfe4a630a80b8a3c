/**
 * The local OpenAI-compatible test server in processes of its own, for benches whose fleet would
 * otherwise wait on the server's share of the CPU: on a loaded machine one process answering every
 * call (it counts tokens with a real tokenizer) becomes the fleet's common bottleneck. BENCH_SERVERS
 * processes (node:cluster, default 4) share one port. Reads its options as JSON from argv[2], prints
 * `URL <url>` once every process listens, answers until stdin closes.
 */
import cluster from 'node:cluster';
import { startOpenAIServer } from '../../test/support/openai-server';

const N = Number(process.env.BENCH_SERVERS ?? 4);
if (cluster.isPrimary) {
  // cluster workers that listen on port 0 share the one port the primary picks
  const urls = await Promise.all(
    Array.from({ length: N }, () => {
      const w = cluster.fork();
      return new Promise<string>((resolve) => w.on('message', (m: { url?: string }) => m.url && resolve(m.url)));
    }),
  );
  process.stdout.write(`URL ${urls[0]}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const server = await startOpenAIServer(JSON.parse(process.argv[2] ?? '{}'));
  process.send!({ url: server.url });
}
