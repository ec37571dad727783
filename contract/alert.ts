/** Alerts: the gateway's own (system) and, later, the alerts engine's. */
import { z } from 'zod';

export const alertSchema = z.object({
  id: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  source: z.enum(['system', 'rules']),
  state: z.enum(['active', 'resolved']),
  /** Epoch ms when the alert entered its current state. */
  since: z.number(),
  message: z.string(),
  corridor: z.string().optional(),
  municipality: z.string().optional(),
  deviceId: z.string().optional(),
});
export type Alert = z.infer<typeof alertSchema>;

/** System alert ids (stable, used in topics `valley/alerts/system/{id}`). */
export const systemAlertIds = {
  deviceOffline: (deviceId: string) => `device-offline-${deviceId}`,
  sinkDown: 'sink-down',
  sinkMisconfigured: 'sink-misconfigured',
  outboxBackpressure: 'outbox-backpressure',
  deadLetterFull: 'deadletter-full',
  outboxUnwritable: 'outbox-unwritable',
} as const;
