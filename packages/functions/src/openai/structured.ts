import { z } from 'zod';
import { CellInputError, t, type ColumnType, type Expr, type Udf } from '@tessera/core';
import type { ModelUdfContext } from '../model/context';
import { withCache } from '../model/call-model';
import { callKey } from '../model/identity';
import { defineModelUdf, requireText } from '../model/model-udf';
import { countChatTokens } from '../model/tokens';
import { applyPrompt, runChat } from './chat-call';
import { queueFor } from './connection';
import type { ChatOptions } from './chat';

export interface StructuredOptions<S extends z.ZodType> extends ChatOptions {
  /** the shape of the answer; sent as a strict JSON schema and checked on the way back */
  schema: S;
  /** schema name shown to the model; default `result` */
  schemaName?: string;
}

/** Structured output: the model answers JSON that must satisfy a zod schema (a json column typed by it). */
export function structuredUdf<S extends z.ZodType>(opts: StructuredOptions<S>) {
  const maxTokens = opts.maxTokens ?? 512;
  const jsonSchema = z.toJSONSchema(opts.schema, { target: 'draft-7' }) as Record<string, unknown>;
  delete jsonSchema.$schema;
  const schemaName = opts.schemaName ?? 'result';
  const strict = strictCompatible(jsonSchema);
  type R = ColumnType<'json', z.infer<S>>;
  return defineModelUdf({
    base: 'openai.structured',
    model: opts.model,
    identity: { system: opts.system, prompt: opts.prompt, maxTokens, temperature: opts.temperature, jsonSchema, schemaName },
    opts,
    queue: queueFor(opts, opts.model),
    params: [t.string()] as const,
    returns: t.json(opts.schema) as R,
    build: (name) => ({
      fn: async ([text], ctx: ModelUdfContext) => {
        const user = applyPrompt(opts.prompt, requireText(text, 'openai.structured'));
        const promptTokens = await countChatTokens(opts.model, [opts.system ?? '', user, JSON.stringify(jsonSchema)]);
        const where = `openai.structured ${opts.model}`;
        const answer = await withCache(ctx, opts, callKey(name, { user }), () =>
          runChat(
            ctx,
            opts,
            {
              model: opts.model,
              messages: [...(opts.system ? [{ role: 'system' as const, content: opts.system }] : []), { role: 'user', content: user }],
              maxTokens,
              temperature: opts.temperature,
              promptTokens,
              responseFormat: { type: 'json_schema', json_schema: { name: schemaName, schema: jsonSchema, strict } },
            },
            where,
          ),
        );
        let parsed: unknown;
        try {
          parsed = JSON.parse(answer);
        } catch {
          throw new CellInputError(`${where}: the answer is not JSON`);
        }
        const checked = opts.schema.safeParse(parsed);
        if (!checked.success) throw new CellInputError(`${where}: the answer does not match the schema: ${checked.error.issues[0]?.message ?? ''}`);
        return checked.data as z.infer<S>;
      },
    }),
  }) as Udf<readonly [ReturnType<typeof t.string>], R>;
}

/** `openai.structured(docs.text, { model, schema: z.object({ topic: z.string() }) })` */
export function structured<S extends z.ZodType>(text: Expr<'string', string | null> | string, opts: StructuredOptions<S>) {
  return structuredUdf(opts)(text);
}

/**
 * OpenAI's strict mode needs every object property required (optional ones as nullable). A schema
 * with optional properties is sent non-strict instead of being refused for every row; the answer
 * is checked by zod either way.
 */
function strictCompatible(schema: unknown): boolean {
  if (!schema || typeof schema !== 'object') return true;
  if (Array.isArray(schema)) return schema.every(strictCompatible);
  const o = schema as Record<string, unknown>;
  if (o.type === 'object' && o.properties && typeof o.properties === 'object') {
    const required = new Set(Array.isArray(o.required) ? (o.required as string[]) : []);
    if (Object.keys(o.properties).some((k) => !required.has(k))) return false;
  }
  return Object.values(o).every(strictCompatible);
}
