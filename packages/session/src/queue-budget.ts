/**
 * Bytes of messages that sessions hold (queued, or in flight and not yet acknowledged), counted
 * against one limit shared by every session of a pool, or of a set of pools. Past the limit, the
 * sessions shed load (see `SessionOptions.maxQueuedBytes` and the pool's documentation).
 *
 * A message queued for several sessions counts once for each: the count errs on the safe side.
 */
export class QueueBudget {
  /** Bytes held now. */
  used = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** True once the bytes held reach the limit. */
  get exceeded(): boolean {
    return this.used >= this.limit;
  }
}

/** What one message costs a queue: its payload and topic, and the entry that holds them. */
export function queuedSize(payload: Buffer, topic: string): number {
  return payload.length + topic.length + ENTRY_OVERHEAD;
}

/** The bytes of a queue entry and the message object around a payload, roughly. */
const ENTRY_OVERHEAD = 160;
