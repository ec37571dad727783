/** One measurement window: the system's /proc sample before and after a fleet run. */
import type { FleetReport, PublisherFleet } from '../load/publishers.js';
import type { ProcSample } from '../systems/proc.js';
import type { SystemUnderTest } from '../systems/index.js';

export interface Window {
  report: FleetReport;
  before: ProcSample;
  after: ProcSample;
}

export async function measureWindow(
  sut: SystemUnderTest,
  fleet: PublisherFleet,
  durationMs: number,
): Promise<Window> {
  const before = await sut.sample();
  const report = await fleet.run(durationMs);
  const after = await sut.sample();
  return { report, before, after };
}
