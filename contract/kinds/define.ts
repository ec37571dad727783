/**
 * How a kind is declared: one strict zod schema per kind, built from metric specs that carry the
 * unit, the range a real sensor can report, and whether the metric is a monotonic counter. The
 * schema is `.strict()`: an unknown metric is a reject, never silently dropped.
 */
import { z } from 'zod';
import type { CorridorId } from '../topics.js';

export interface MetricSpec {
  /** Unit as shown to people (SI symbols). The metric name carries it too (`_l_s`, `_bar` ...). */
  unit: string;
  min: number;
  max: number;
  /** A monotonic counter (totaliser, energy register): a decrease is flagged `counter_reset`. */
  counter?: boolean;
  /** Counts of things: whole numbers only. */
  integer?: boolean;
  /** Bounded by a figure of the device's site, checked by plausibility. */
  boundedBy?: 'capacity' | 'connectors';
  label: string;
}

type ValuesShape<M extends Record<string, MetricSpec>> = { [K in keyof M]: z.ZodOptional<z.ZodNumber> };

export interface KindDefinition<M extends Record<string, MetricSpec> = Record<string, MetricSpec>> {
  id: string;
  corridor: CorridorId;
  label: string;
  metrics: M;
  /** Validates `values` of a reading: strict keys, finite numbers in range, at least one metric. */
  values: z.ZodType<{ [K in keyof M]?: number }>;
}

export function metricSchema(name: string, spec: MetricSpec): z.ZodNumber {
  let schema = z.number({ error: `${name} must be a number` });
  if (spec.integer) schema = schema.int({ error: `${name} must be a whole number` });
  return schema
    .min(spec.min, { error: `${name} must be >= ${spec.min} ${spec.unit}` })
    .max(spec.max, { error: `${name} must be <= ${spec.max} ${spec.unit}` });
}

export function defineKind<const M extends Record<string, MetricSpec>>(
  id: string,
  corridor: CorridorId,
  label: string,
  metrics: M,
): KindDefinition<M> {
  const shape = {} as Record<string, z.ZodOptional<z.ZodNumber>>;
  for (const [name, spec] of Object.entries(metrics)) shape[name] = metricSchema(name, spec).optional();
  const values = z
    .strictObject(shape as ValuesShape<M>)
    .refine((v) => Object.keys(v).length > 0, { error: 'values must hold at least one metric' });
  return { id, corridor, label, metrics, values: values as unknown as KindDefinition<M>['values'] };
}
