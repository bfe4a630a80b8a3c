#!/usr/bin/env -S node --import tsx
import { parseArgs } from 'node:util';
// commands are imported when run, so --help answers without loading the engine, SDKs and models
import { commands } from './commands/lazy';

const HELP = `tessera <command> [args] [flags]

  apply <pipeline|path> [--recompute]        create or migrate the catalog; backfills start by themselves
  insert <pipeline> <table> [file|-]         insert rows (JSON array, JSON Lines or CSV; --format to force)
  update <pipeline> <table> [file|-]         update rows by primary key (dependent columns recompute)
  upsert <pipeline> <table> [file|-]         insert rows whose key is new, update those whose key exists
  delete <pipeline> <table> [file|-]         delete rows by primary key
         [--request-id ID] [--wait] [--timeout S]   --wait: return once the version is computed and
                                             exported (its own rows; S seconds at most, default 300)
  import <pipeline> <table> <file>           a Parquet, Arrow, JSONL or CSV file (local or s3/gs/az/https), streamed
         [--format F] [--batch-size N] [--request-id ID]   in batches of N rows (10000); a re-run with the same id resumes
  select <pipeline> <table> [--limit N] [--version N] [--columns a,b] [--errors] [--json]
  status <pipeline> [--watch]                cells done / pending / failed per table and column; model usage
  errors <pipeline> <table> [--column c] [--limit N] [--json]
                                             failed cells with their whole messages
  versions <pipeline> <table> [--version N]  version history with inserts/updates/deletes/errors and the requests
                                             each version holds (--version: every request id of version N)
  revert <pipeline> <table>                  undo the latest data version
  recompute <pipeline> <table> [--errors-only] [--columns a,b] [--fresh]
                                             recompute columns (model answers from the cache unless --fresh)
  reconcile [pipeline...] [--exports]        re-enqueue pending cells that no live job covers (--exports: re-ship exports too)
  export --full <pipeline> <table> [--sink s] re-ship every live row to the table's exports (or to sink s)
  worker [queue...]                          run a worker (all queues by default) until SIGTERM
  dashboard [--port N]                       web UI: progress, errors, versions, lineage, queues (8080; actions need TESSERA_DASHBOARD_TOKEN)
  backfill <pipeline> <source> [--from W] [--full]
                                             run a source now (from its watermark; --from a watermark; --full: everything)
  schedules [pipeline] [--json]              sources: schedule, last run (rows, duration, error), next run, watermark
  pause / resume <pipeline> <source>         stop or restart a source's scheduled runs

Configuration comes from the environment (TESSERA_DATABASE_URL, TESSERA_REDIS_URL, TESSERA_SCHEMA,
TESSERA_PIPELINES, TESSERA_BATCH_SIZE, ...); see README.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      recompute: { type: 'boolean' },
      format: { type: 'string' },
      'request-id': { type: 'string' },
      'batch-size': { type: 'string' },
      limit: { type: 'string' },
      version: { type: 'string' },
      columns: { type: 'string' },
      column: { type: 'string' },
      errors: { type: 'boolean' },
      json: { type: 'boolean' },
      watch: { type: 'boolean' },
      'errors-only': { type: 'boolean' },
      full: { type: 'boolean' },
      exports: { type: 'boolean' },
      sink: { type: 'string', multiple: true },
      fresh: { type: 'boolean' },
      from: { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
    },
  });
  const [command, ...args] = positionals;
  if (!command || values.help) {
    console.log(HELP);
    return command || values.help ? 0 : 1;
  }
  if (command === 'dashboard') {
    await (await commands.dashboard()).dashboardCommand(values);
    return 0;
  }
  if (command === 'worker') {
    await (await commands.worker()).workerCommand(args);
    return 0;
  }
  const { CliContext } = await commands.context();
  const ctx = new CliContext();
  try {
    switch (command) {
      case 'apply':
        await (await commands.apply()).applyCommand(ctx, args, values);
        break;
      case 'insert':
      case 'update':
      case 'upsert':
      case 'delete':
        await (await commands.write()).writeCommand(command, ctx, args, values);
        break;
      case 'import':
        await (await commands.importFile()).importCommand(ctx, args, values);
        break;
      case 'select':
        await (await commands.read()).selectCommand(ctx, args, values);
        break;
      case 'status':
        await (await commands.read()).statusCommand(ctx, args, values);
        break;
      case 'errors':
        await (await commands.read()).errorsCommand(ctx, args, values);
        break;
      case 'versions':
        await (await commands.read()).versionsCommand(ctx, args, values);
        break;
      case 'revert':
        await (await commands.maintain()).revertCommand(ctx, args);
        break;
      case 'recompute':
        await (await commands.maintain()).recomputeCommand(ctx, args, values);
        break;
      case 'reconcile':
        await (await commands.maintain()).reconcileCommand(ctx, args, values);
        break;
      case 'export':
        await (await commands.maintain()).exportCommand(ctx, args, values);
        break;
      case 'backfill':
        await (await commands.sources()).backfillCommand(ctx, args, values);
        break;
      case 'schedules':
        await (await commands.sources()).schedulesCommand(ctx, args, values);
        break;
      case 'pause':
      case 'resume':
        await (await commands.sources()).pauseCommand(ctx, command, args);
        break;
      default:
        console.error(`unknown command ${command}\n\n${HELP}`);
        return 1;
    }
    return 0;
  } finally {
    await ctx.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`tessera: ${e.message}`);
    process.exit(1);
  },
);
