// Which jobs run when the user names some on the command line.
import { RunnerError } from '@fleetrunner/common';
import type { Pipeline, PlannedJob } from './types.js';

/**
 * The named jobs plus everything they need, transitively: their `needs` and their `dependencies` (the jobs
 * whose artifacts they download). A name selects the job instance of that name, or every instance of a
 * parallel job (`test` selects `test 1/3` … `test 3/3`). A job without `needs` or `dependencies` runs alone,
 * without the jobs of earlier stages. Throws `not_found` for a name that is not in the pipeline.
 */
export function selectJobs(pipeline: Pipeline, names: readonly string[]): Set<string> {
  const byName = new Map(pipeline.jobs.map((j) => [j.name, j] as const));
  const selected = new Set<string>();
  const queue: PlannedJob[] = [];
  for (const name of names) {
    const hits = byName.has(name) ? [byName.get(name)!] : pipeline.jobs.filter((j) => j.baseName === name);
    if (hits.length === 0) throw notInPipeline(pipeline, name);
    queue.push(...hits);
  }
  while (queue.length > 0) {
    const job = queue.shift()!;
    if (selected.has(job.name)) continue;
    selected.add(job.name);
    for (const dep of [...(job.needs ?? []).map((n) => n.name), ...job.dependencies]) {
      const j = byName.get(dep);
      if (j !== undefined && !selected.has(dep)) queue.push(j);
    }
  }
  return selected;
}

function notInPipeline(pipeline: Pipeline, name: string): RunnerError {
  const excluded = pipeline.excluded.find((e) => e.name === name || e.name.startsWith(`${name} `) || e.name.startsWith(`${name}: `));
  const why = excluded !== undefined ? `it is not in this pipeline (${excluded.reason})` : `no such job; jobs are: ${[...new Set(pipeline.jobs.map((j) => j.baseName))].join(', ')}`;
  return new RunnerError('not_found', `job ${JSON.stringify(name)}: ${why}`);
}
