// Health tracking: what track_script results and tracked interfaces do to an
// instance's priority. Sans-IO; the driver feeds results in.

/**
 * One vrrp_script's verdict, counted the way keepalived counts: `rise`
 * successes in a row make a failing script healthy, `fall` failures in a row
 * make a healthy one fail, and the very first result decides at once.
 */
export class ScriptVerdict {
  /** 0..rise+fall-1; healthy at rise and above. */
  private count: number;
  private initializing = true;

  constructor(
    readonly rise: number,
    readonly fall: number,
  ) {
    if (!Number.isInteger(rise) || rise < 1) throw new RangeError(`rise must be an integer >= 1, got ${rise}`);
    if (!Number.isInteger(fall) || fall < 1) throw new RangeError(`fall must be an integer >= 1, got ${fall}`);
    this.count = rise - 1;
  }

  /** Undefined until the first result. */
  get healthy(): boolean | undefined {
    return this.initializing ? undefined : this.count >= this.rise;
  }

  /** Returns whether the verdict changed. */
  record(success: boolean): boolean {
    const before = this.healthy;
    const top = this.rise + this.fall - 1;
    if (success) {
      this.count = this.count < this.rise - 1 ? this.count + 1 : top;
    } else {
      this.count = this.count > this.rise ? this.count - 1 : 0;
    }
    this.initializing = false;
    return this.healthy !== before;
  }
}

export interface TrackedInput {
  name: string;
  /** 0: failure means FAULT. >0: added while healthy. <0: added (so subtracted) while failing. */
  weight: number;
  /** undefined: no verdict yet (keepalived holds the instance in FAULT until there is one). */
  healthy: boolean | undefined;
}

export interface TrackingOutcome {
  /** Sum of the weights that apply now. */
  priorityDelta: number;
  /** Why the instance must be in FAULT, or undefined. */
  faultReason: string | undefined;
}

export function evaluateTracking(inputs: readonly TrackedInput[]): TrackingOutcome {
  let priorityDelta = 0;
  let faultReason: string | undefined;
  for (const input of inputs) {
    if (input.healthy === undefined) {
      faultReason ??= `${input.name} has not reported yet`;
    } else if (input.weight === 0) {
      if (!input.healthy) faultReason ??= `${input.name} failed`;
    } else if (input.weight > 0 && input.healthy) {
      priorityDelta += input.weight;
    } else if (input.weight < 0 && !input.healthy) {
      priorityDelta += input.weight;
    }
  }
  return { priorityDelta, faultReason };
}

/** Non-owners stay within 1..254 whatever the weights say; the owner is always 255. */
export function effectivePriority(basePriority: number, priorityDelta: number): number {
  if (basePriority === 255) return 255;
  return Math.min(254, Math.max(1, basePriority + priorityDelta));
}
