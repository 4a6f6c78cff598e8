/**
 * Capture agents' clocks against the server's, on a live server (pure: the caller gives both
 * times). A HEP packet carries its agent's capture time; PDD, AST and ACD are differences of capture
 * times, exact whatever the agent's clock says. But calls time out and dimension values expire on
 * one timeline for all agents: with two agents an hour apart, one agent's calls were timed out by the
 * other's packets. So the capture times of an agent whose clock is off by more than
 * AGENT_CLOCK_TOLERANCE_MS are moved onto the server's clock by a shift kept per agent (its offset
 * when first seen past the tolerance). The shift serves timeouts and expiry only: PDD, AST and ACD
 * are differences of the agent's own times (PacketMeta.agentTimeMs), since a backlog delivered in
 * one burst (capture times advancing faster than arrival) moves the shift as a clock jump would.
 * Agents within the tolerance (NTP-synchronised ones) keep their capture times as they are.
 *
 * An agent is its HEP capture id (chunk 0x000c), node name (0x0013) and the address it sends from
 * (a key of the datagram's or the TCP connection's source address and port): agents left at their
 * default capture id (Kamailio's and OpenSIPS' are 1) are told apart by their address. Agents that
 * share all three and disagree make the shift follow each packet (their times become arrival times);
 * every change of a shift is counted (`sipstats:capture_clock_adjustments`), so it shows.
 */

/** How far an agent's clock may be from the server's before its times are shifted (ms): well under the INVITE timeout, well over network and queueing delays. */
export const AGENT_CLOCK_TOLERANCE_MS = 5000;

/** Agents remembered at most (past it the table starts again; a shift is re-made from the next packet). */
const MAX_AGENTS = 1024;

export class AgentClocks {
  /** Shift (ms) of each shifted agent, by capture id, then node name, then sender key. */
  private readonly shifts = new Map<number, Map<string | undefined, Map<number, number>>>();
  private shifted = 0;

  constructor(
    /** Called when an agent's shift is set, changed or dropped. */
    private readonly onAdjust: () => void,
    private readonly tolerance = AGENT_CLOCK_TOLERANCE_MS,
  ) {}

  /** Agents whose times are shifted now. */
  get size(): number {
    return this.shifted;
  }

  /**
   * What to add to capture time `t` of agent (`nodeId`, `nodeName`, `sender`) that arrived at
   * `arrival` (server clock): 0 for an agent within the tolerance.
   */
  shift(nodeId: number | undefined, nodeName: string | undefined, sender: number, t: number, arrival: number): number {
    const tol = this.tolerance;
    const off = arrival - t;
    const near = Math.abs(off) <= tol;
    // nearly always: no agent is shifted and this one is within the tolerance
    if (this.shifted === 0 && near) return 0;
    const id = nodeId ?? -1;
    let byName = this.shifts.get(id);
    let bySender = byName?.get(nodeName);
    const s = bySender?.get(sender);
    if (s === undefined) {
      if (near) return 0;
      if (this.shifted >= MAX_AGENTS) {
        this.shifts.clear();
        this.shifted = 0;
        byName = bySender = undefined;
      }
      if (byName === undefined) this.shifts.set(id, (byName = new Map()));
      if (bySender === undefined) byName.set(nodeName, (bySender = new Map()));
      bySender.set(sender, off);
      this.shifted++;
    } else if (Math.abs(off) <= tol / 2) {
      // back within half the tolerance (the agent's clock was set right): its own times again
      bySender!.delete(sender);
      if (bySender!.size === 0) byName!.delete(nodeName);
      if (byName!.size === 0) this.shifts.delete(id);
      this.shifted--;
      this.onAdjust();
      return 0;
    } else if (Math.abs(off - s) <= tol) return s;
    // a new shift: an agent first seen off, or whose clock jumped (or two agents sharing one address)
    else bySender!.set(sender, off);
    this.onAdjust();
    return off;
  }
}
