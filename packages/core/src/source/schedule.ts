import type { Schedule } from './source-def';

export type ScheduleInput = { cron: string; tz?: string } | { every: number | string };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `'30s'`, `'5m'`, `'1h'`, `'1d'`, or milliseconds. */
export function parseEvery(every: number | string): number {
  if (typeof every === 'number') {
    if (!Number.isInteger(every) || every < 1000) throw new Error(`every must be at least 1000 ms, got ${every}`);
    return every;
  }
  const m = /^(\d+)\s*(ms|s|m|h|d)$/.exec(every.trim());
  if (!m) throw new Error(`every ${JSON.stringify(every)}: use a number of milliseconds or e.g. '30s', '5m', '1h', '1d'`);
  return parseEvery(Number(m[1]) * UNITS[m[2]!]!);
}

/** A cron expression BullMQ accepts: 5 fields, or 6 with seconds first; each field digits, *, ranges, lists, steps or names. */
const CRON_FIELD = /^[0-9A-Za-z*?,\-/#LW]+$/;

export function parseSchedule(input: ScheduleInput): Schedule {
  if ('every' in input) return { everyMs: parseEvery(input.every) };
  const fields = input.cron.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6 || !fields.every((f) => CRON_FIELD.test(f))) {
    throw new Error(`cron ${JSON.stringify(input.cron)}: expected 5 fields (minute hour day month weekday) or 6 with seconds first`);
  }
  if (input.tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: input.tz });
    } catch {
      throw new Error(`unknown time zone ${JSON.stringify(input.tz)} (use an IANA name such as Europe/Paris)`);
    }
  }
  return { cron: fields.join(' '), ...(input.tz ? { tz: input.tz } : {}) };
}

/** How a schedule reads on the CLI: `every 5m`, `cron 0 * * * * (Europe/Paris)`. */
export function describeSchedule(s: Schedule | undefined | null): string {
  if (!s) return 'on demand';
  if ('everyMs' in s) {
    const [unit, ms] = Object.entries(UNITS)
      .reverse()
      .find(([, ms]) => s.everyMs % ms === 0)!;
    return `every ${s.everyMs / ms}${unit}`;
  }
  return `cron ${s.cron}${s.tz ? ` (${s.tz})` : ''}`;
}
