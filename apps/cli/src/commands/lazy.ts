/**
 * The CLI's command modules, each imported when its command runs, so `tessera --help` answers
 * without loading the engine, the SDKs or the models. (Kept out of main.ts: tsx's dynamic-import
 * lexer trips over main.ts's help text.)
 */
export const commands = {
  context: () => import('../context'),
  apply: () => import('./apply'),
  write: () => import('./write'),
  importFile: () => import('./import'),
  read: () => import('./read'),
  maintain: () => import('./maintain'),
  worker: () => import('./worker'),
  dashboard: () => import('./dashboard'),
};
