// Service level deadlines and their state. Deadlines are counted from creation;
// time spent PENDING is added to them (the clock pauses while waiting for the customer).
import type { TicketPriority } from '../generated/prisma/enums.js';

export type SlaTargetMinutes = { firstResponseMinutes: number; resolutionMinutes: number };

/** Targets for a team created without its own. */
export const DEFAULT_SLA_TARGETS: Record<TicketPriority, SlaTargetMinutes> = {
  URGENT: { firstResponseMinutes: 60, resolutionMinutes: 240 },
  HIGH: { firstResponseMinutes: 240, resolutionMinutes: 1440 },
  NORMAL: { firstResponseMinutes: 480, resolutionMinutes: 2880 },
  LOW: { firstResponseMinutes: 1440, resolutionMinutes: 7200 },
};

const MINUTE = 60_000;

export function deadlines(createdAt: Date, pausedMs: number, target: SlaTargetMinutes | undefined) {
  if (!target) return { responseDeadline: null, resolutionDeadline: null };
  const start = createdAt.getTime() + pausedMs;
  return {
    responseDeadline: new Date(start + target.firstResponseMinutes * MINUTE),
    resolutionDeadline: new Date(start + target.resolutionMinutes * MINUTE),
  };
}

export type SlaTier = 'ON_TRACK' | 'AT_RISK' | 'BREACHED' | 'MET';

// The last quarter of the time allowed is "at risk".
const AT_RISK_SHARE = 0.25;

/**
 * Where one target stands: MET or BREACHED once `doneAt` is known, otherwise
 * ON_TRACK, AT_RISK or BREACHED at `now` (the pause start while paused).
 */
export function slaTier(
  deadline: Date | null,
  doneAt: Date | null,
  createdAt: Date,
  pausedMs: number,
  now: Date,
): SlaTier | null {
  if (!deadline) return null;
  if (doneAt) return doneAt <= deadline ? 'MET' : 'BREACHED';
  if (now > deadline) return 'BREACHED';
  const allowed = deadline.getTime() - createdAt.getTime() - pausedMs;
  const left = deadline.getTime() - now.getTime();
  return left <= allowed * AT_RISK_SHARE ? 'AT_RISK' : 'ON_TRACK';
}
