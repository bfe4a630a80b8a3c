import { PipelineDefinitionError, type PlannedColumn } from '@tessera/core';

/** A hand-built computed column of table `t` that reads `reads`, for planStages without a pipeline. */
export const plannedColumn = (name: string, reads: string[], queue = 'cpu'): PlannedColumn => ({
  name,
  type: { kind: 'string', nullable: true, primaryKey: false },
  computed: {
    expr: { op: 'call', udf: 'f', version: '1', args: reads.map((c) => ({ op: 'column', table: 't', column: c })) },
    onError: 'ignore',
    udfs: ['f@1'],
    queue,
  },
});

/** planStages's `fail`, as the planner passes it: a definition error naming p.t.<column>. */
export const failPlan = (column: string, problem: string): never => {
  throw new PipelineDefinitionError({ pipeline: 'p', table: 't', column }, problem);
};
