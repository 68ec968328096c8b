/**
 * `--bus URL` (or `--redis URL`): several servers become one chat. The bridge runs on each
 * server's main thread as one more participant of the threads' chat bus (bus.ts,
 * BRIDGE_ID), and talks to the other servers through one ServerBus (server-bus.ts: one
 * redis-server, a Redis Cluster or NATS, chosen by the URL). The chat logic is here, once;
 * the bus only carries bytes, membership and liveness.
 *
 * - messages: every batch a thread forwards (this server's own messages to a room)
 *   becomes ONE bus publish on the room (batch-codec.ts: a format version, this server's
 *   limits and id, the payloads); what other servers publish on the rooms this server has
 *   members in (subscribed while it has members there) becomes one batch of frames, built
 *   once, handed to the threads with members there. A batch this server cannot serve (not
 *   a handoff batch, another version or other limits, truncated, a payload too long or not
 *   a delivery of that room) is dropped, counted (handoff_bus_dropped_total{reason}) and
 *   logged once per burst; so is a batch whose handling threw (reason `error`). Every bus
 *   keeps one publisher's batches in order, so per-sender order holds across servers.
 * - membership: a thread's membership change is confirmed to it (its reply may go) once
 *   the bus has it (every server's who() lists it) and this server is subscribed to the
 *   room, or after CONFIRM_DEADLINE_MS at the latest (logged): effective on reply across
 *   servers while the bus answers, and replies that never wait long when it does not.
 * - presence: `!JOINED` / `!LEFT` payloads are published like messages; the members of a
 *   server that died are reported by the bus (onMembersGone: `!LEFT`), and so are the
 *   changes the others missed while a server was away (onMembersGone / onMembersCame).
 * - start-up: a server whose limits differ from those of a live server of the chat
 *   refuses to start (InvalidOptionError: one line, exit status 2).
 *
 * While the bus is down, confirmations are given at once and chat goes on within this
 * server; the bus repairs itself (members written again, subscriptions renewed) and the
 * bridge only logs. Pub/sub is at most once: what is published while a server is away is
 * lost for it.
 */
import { hostname } from 'node:os';
import { escapeOptionText, InvalidOptionError, parseHeader, writeHeader } from '../../protocol/index.ts';
import type { BusDropReason, ServerCounters } from '../observe/counters.ts';
import type { ServerLog } from '../observe/log.ts';
import type { BusSpec } from '../options.ts';
import { busFaultMarker } from './injected-faults.ts';
import {
  BATCH_FORMAT_VERSION,
  type BusLimits,
  decodeBatch,
  decodeServerRecord,
  encodeBatch,
  encodeServerRecord,
  limitsMismatch,
  refusalOf,
} from './batch-codec.ts';
import { BRIDGE_ID, Bus, type BusMessage, type MemberEvent } from './bus.ts';
import { openServerBus } from './bus-open.ts';
import { BurstLog } from './burst-log.ts';
import { Roster } from './roster.ts';
import { BusState, COMMAND_TIMEOUT_MS, type ServerBus } from './server-bus.ts';
import { isListableName, maxWhoBytes } from './who.ts';

/** A membership change is confirmed to its thread after this at the latest, bus or not. */
const CONFIRM_DEADLINE_MS = COMMAND_TIMEOUT_MS;

export interface ChatBridgeOptions {
  bus: BusSpec;
  busName: string;
  headerBytes: number;
  maxMessageBytes: number;
  log: ServerLog;
  counters: ServerCounters;
}

/** A thread's membership events not yet confirmed, in order. */
interface Confirmation {
  seq: number;
  settled: boolean;
}

export class ChatBridge {
  readonly #o: ChatBridgeOptions;
  readonly #limits: BusLimits;
  readonly #maxDeliveryBytes: number;
  readonly #channel: Bus;
  readonly #bus: ServerBus;
  /** This server's members, fed by its threads' events. */
  readonly #roster = new Roster();
  /** Rooms this server is subscribed to (it has members there). */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  /** Per thread: its events not yet confirmed. Confirmations go in order, each by its own deadline. */
  readonly #confirmations = new Map<number, Confirmation[]>();
  readonly #drops: BurstLog;
  readonly #late: BurstLog;
  readonly #fault: Buffer | null = busFaultMarker();
  #everUp = false;
  #stopping = false;

  private constructor(options: ChatBridgeOptions) {
    this.#o = options;
    this.#limits = {
      format: BATCH_FORMAT_VERSION,
      headerBytes: options.headerBytes,
      maxMessageBytes: options.maxMessageBytes,
    };
    this.#maxDeliveryBytes = maxWhoBytes(options.maxMessageBytes);
    this.#drops = new BurstLog(options.log, 'bus-dropped');
    this.#late = new BurstLog(options.log, 'bus-late');
    const record = encodeServerRecord({ ...this.#limits, host: hostname(), pid: process.pid });
    this.#bus = openServerBus(options.bus, record, {
      onBatch: (room, batch) => this.#onBatch(room, batch),
      onMembersGone: (room, names) => this.#deliverPresence(room, names, '!LEFT'),
      onMembersCame: (room, names) => this.#deliverPresence(room, names, '!JOINED'),
      onState: (state) => this.#onState(state),
      onUnreadable: (channel, detail) => this.#dropped({ reason: 'garbage', server: null, detail }, channel),
      onMalformed: (where, count) => {
        for (let i = 0; i < count; i++) {
          this.#dropped(
            { reason: 'malformed_envelope', server: null, detail: 'an entry that is not well-formed' },
            where,
          );
        }
      },
    });
    this.#channel = new Bus(
      options.busName,
      BRIDGE_ID,
      (message) => this.#onChannel(message),
      (err, message) => this.#onChannelFailure(err, message),
    );
  }

  get serverId(): string {
    return this.#bus.serverId;
  }

  /**
   * Connects (waiting a little for the bus), refuses to join a chat whose live servers run
   * other limits (InvalidOptionError), and serves without the bus if it is away.
   */
  static async start(options: ChatBridgeOptions): Promise<ChatBridge> {
    const bridge = new ChatBridge(options);
    await bridge.#bus.start();
    if (bridge.#bus.state === BusState.UP) {
      try {
        await bridge.#checkCompatible();
      } catch (err) {
        await bridge.stop();
        throw err;
      }
    } else {
      options.log.essential(
        'bus',
        `[BUS] cannot reach ${options.bus.url} yet; retrying; until then chat stays within this server`,
        { url: options.bus.url, kind: options.bus.kind },
      );
    }
    return bridge;
  }

  /** A thread died: its members leave (the threads' own rosters hear it on the control channel). */
  onThreadGone(threadId: number): void {
    for (const member of this.#roster.membersOf(threadId)) {
      void this.#apply({ kind: 'leave', id: member.id, room: member.room }, threadId);
    }
    this.#confirmations.delete(threadId);
  }

  /** Called once the threads have stopped: this server leaves the bus. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#channel.close();
    this.#drops.close();
    this.#late.close();
    await this.#bus.stop();
  }

  // --- start-up

  /** Every live server of the chat must run this server's limits (their records, kept with their heartbeats). */
  async #checkCompatible(): Promise<void> {
    let peers: Array<{ server: string; record: string }>;
    try {
      peers = await this.#bus.peers();
    } catch {
      return; // the bus went away meanwhile: their batches will be refused and counted if they differ
    }
    const option = this.#o.bus.kind === 'redis' ? 'redis' : 'bus';
    const url = escapeOptionText(this.#o.bus.url);
    for (const { server: id, record: text } of peers) {
      const server = escapeOptionText(id.slice(0, 64));
      const record = decodeServerRecord(text);
      if (record === null) {
        throw new InvalidOptionError(
          option,
          `cannot join the chat on {${option}} ${url}: server ${server} there runs an older handoff, whose batches this server cannot read; every server of one chat must run the same batch format`,
        );
      }
      const mismatch = limitsMismatch(this.#limits, record);
      if (mismatch === null) continue;
      const who = `server ${server} (host ${escapeOptionText(record.host)}, pid ${record.pid})`;
      const ours = mismatch.option === 'format' ? 'batch format version' : `{${mismatch.option}}`;
      throw new InvalidOptionError(
        mismatch.option === 'format' ? option : mismatch.option,
        `cannot join the chat on {${option}} ${url}: ${who} runs ${ours} ${mismatch.theirs}, this server ${mismatch.mine}; every server of one chat needs the same {headerBytes}, {maxMessageBytes} and batch format`,
      );
    }
  }

  // --- the bus between servers

  #onState(state: BusState): void {
    if (this.#stopping) return;
    const { url, kind } = this.#o.bus;
    if (state === BusState.UP) {
      const again = this.#everUp;
      this.#everUp = true;
      this.#o.log.essential(
        'bus',
        `[BUS] ${again ? 'connected again to' : 'connected to'} ${url} as server ${this.serverId}`,
        {
          url,
          kind,
          server: this.serverId,
        },
      );
    } else {
      this.#o.log.essential(
        'bus',
        `[BUS] lost the connection to ${url} (or it stopped answering); retrying; chat stays within this server meanwhile`,
        { url, kind },
      );
    }
  }

  #publish(room: string, payloads: Uint8Array[]): void {
    if (payloads.length === 0) return;
    this.#bus.publish(room, encodeBatch(this.serverId, this.#limits, payloads));
  }

  /** The failure boundary of what other servers (or anyone) publish: it costs that batch, counted. */
  #onBatch(room: string, batch: Buffer): void {
    try {
      this.#serveBatch(room, batch);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.#dropped({ reason: 'error', server: null, detail }, `room ${room}`);
    }
  }

  /** What another server published on a room this server has members in: untrusted bytes. */
  #serveBatch(room: string, message: Buffer): void {
    if (this.#fault && message.includes(this.#fault)) {
      throw new Error('injected fault: a batch asked the bus handler to throw');
    }
    const batch = decodeBatch(message);
    if (!batch.ok) {
      this.#dropped(batch, `room ${room}`);
      return;
    }
    if (batch.server === this.serverId) return; // our own (no bus hands them back; the id says so too)
    const refused = refusalOf(batch, this.#limits, Buffer.from(room, 'latin1'), this.#maxDeliveryBytes);
    if (refused) {
      this.#dropped(refused, `room ${room}`);
      return;
    }
    this.#deliver(room, batch.payloads);
  }

  /** Members of another server left or came while this server's members did not hear it. */
  #deliverPresence(room: string, names: string[], what: '!LEFT' | '!JOINED'): void {
    const payloads = names.filter(isListableName).map((name) => Buffer.from(`${what} ${room} ${name}`, 'latin1'));
    this.#deliver(room, payloads);
  }

  /** One batch of frames, built once, for the threads with members in `room`. */
  #deliver(room: string, payloads: Uint8Array[]): void {
    if (payloads.length === 0) return;
    const to = [...this.#roster.threadsIn(room)];
    if (to.length === 0) return;
    const h = this.#o.headerBytes;
    let size = 0;
    for (const p of payloads) size += h + p.length;
    const frames = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const p of payloads) {
      writeHeader(frames, at, p.length, h);
      frames.set(p, at + h);
      at += h + p.length;
    }
    this.#channel.post({ type: 'deliver', src: BRIDGE_ID, room, to, count: payloads.length, frames });
  }

  /** A batch this server cannot serve: counted, logged once per burst with who sent it and why. */
  #dropped(batch: { reason: BusDropReason; server: string | null; detail: string }, where: string): void {
    this.#o.counters.busDropped(batch.reason);
    const from = batch.server === null ? 'an unknown sender' : `server ${batch.server}`;
    const shown = where.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
    this.#drops.report(`[BUS] dropped a batch on ${shown} from ${from} (${batch.reason}): ${batch.detail}`, {
      reason: batch.reason,
      server: batch.server,
      channel: shown,
    });
  }

  // --- the threads' channel

  #onChannelFailure(err: unknown, message: BusMessage): void {
    this.#dropped(
      {
        reason: 'error',
        server: this.serverId,
        detail: `a ${String(message?.type)} message from thread ${String(message?.src)}: ${err instanceof Error ? err.message : String(err)}`,
      },
      'the chat bus',
    );
    if (message?.type === 'events' && Number.isInteger(message.src) && Number.isInteger(message.seq)) {
      this.#channel.post({ type: 'ack', src: BRIDGE_ID, seqs: [[message.src, message.seq]] });
    }
  }

  #onChannel(message: BusMessage): void {
    switch (message.type) {
      case 'hello':
        this.#channel.post({ type: 'roster', src: BRIDGE_ID, to: message.src, seq: 0, members: [] });
        break;
      case 'events':
        this.#confirm(
          message.src,
          message.seq,
          Promise.allSettled(message.events.map((event) => this.#apply(event, message.src))),
        );
        break;
      case 'deliver':
        if (message.to.includes(BRIDGE_ID))
          this.#publish(message.room, this.#payloadsOf(message.frames, message.count));
        break;
      case 'who':
        void this.#who(message.src, message.request, message.room, message.member);
        break;
      default:
        break;
    }
  }

  /**
   * Confirms `src`'s events up to `seq` once `work` (the bus has them) is done, or at the
   * deadline, whichever comes first, and never before the confirmations of its earlier
   * events: an ack covers every earlier seq. Each waits at most its own deadline, so
   * one stalled round trip never holds the ones behind it longer than theirs.
   */
  #confirm(src: number, seq: number, work: Promise<unknown>): void {
    let queue = this.#confirmations.get(src);
    if (!queue) this.#confirmations.set(src, (queue = []));
    const entry: Confirmation = { seq, settled: false };
    queue.push(entry);
    const settle = (late: boolean) => {
      if (entry.settled) return;
      entry.settled = true;
      if (late) {
        this.#late.report(
          `[BUS] ${this.#o.bus.url} did not confirm a membership change within ${CONFIRM_DEADLINE_MS} ms; its reply goes anyway`,
          { url: this.#o.bus.url },
        );
      }
      this.#releaseConfirmations(src);
    };
    const deadline = setTimeout(() => settle(true), CONFIRM_DEADLINE_MS);
    deadline.unref();
    void work.then(() => {
      clearTimeout(deadline);
      settle(false);
    });
  }

  #releaseConfirmations(src: number): void {
    const queue = this.#confirmations.get(src);
    if (!queue) return;
    let last = -1;
    while (queue.length > 0 && queue[0]!.settled) last = queue.shift()!.seq;
    if (last >= 0 && !this.#stopping) this.#channel.post({ type: 'ack', src: BRIDGE_ID, seqs: [[src, last]] });
  }

  /** The payloads of `count` frames built by a thread (with this server's header size). */
  #payloadsOf(frames: Uint8Array, count: number): Uint8Array[] {
    const h = this.#o.headerBytes;
    const out: Uint8Array[] = [];
    for (let at = 0, i = 0; i < count && at + h <= frames.length; i++) {
      const length = parseHeader(frames, at, h, frames.length);
      out.push(frames.subarray(at + h, at + h + length));
      at += h + length;
    }
    return out;
  }

  /** A membership change of this server: onto the bus, presence published, subscriptions kept right. */
  #apply(event: MemberEvent, thread: number): Promise<unknown> {
    const pending: Array<Promise<unknown>> = [];
    switch (event.kind) {
      case 'enter': {
        const previous = this.#roster.get(event.id)?.room;
        this.#roster.enter(event.id, thread, event.name, event.room);
        if (previous && previous !== event.room) {
          this.#publish(previous, [Buffer.from(`!LEFT ${previous} ${event.name}`, 'latin1')]);
          this.#unsubscribeIfEmpty(previous);
        }
        pending.push(this.#subscribe(event.room));
        pending.push(this.#bus.enter({ id: event.id, name: event.name, room: event.room }));
        this.#publish(event.room, [Buffer.from(`!JOINED ${event.room} ${event.name}`, 'latin1')]);
        break;
      }
      case 'leave': {
        const info = this.#roster.leave(event.id);
        if (!info) break;
        this.#publish(info.room, [Buffer.from(`!LEFT ${info.room} ${info.name}`, 'latin1')]);
        pending.push(this.#bus.leave(event.id));
        this.#unsubscribeIfEmpty(info.room);
        break;
      }
      case 'rename':
        this.#roster.rename(event.id, event.name);
        pending.push(this.#bus.rename(event.id, event.name));
        break;
    }
    return Promise.all(pending);
  }

  #subscribe(room: string): Promise<unknown> {
    let subscribing = this.#subscribed.get(room);
    if (!subscribing) {
      subscribing = this.#bus.subscribe(room);
      this.#subscribed.set(room, subscribing);
    }
    return subscribing;
  }

  #unsubscribeIfEmpty(room: string): void {
    if ([...this.#roster.threadsIn(room)].length > 0 || !this.#subscribed.has(room)) return;
    this.#subscribed.delete(room);
    void this.#bus.unsubscribe(room);
  }

  /**
   * `room`'s members on every server but the asker (`member`, of `thread`): the other servers'
   * from the bus, this server's from its own roster, as they are when the asker asked (a !NICK
   * may follow before the answer comes). The asker is left out by id, never by name: another
   * member may have its name, and the bus may not list the asker (it lost this server's entries,
   * or has not got them back yet).
   */
  async #who(thread: number, request: number, room: string, member: number): Promise<void> {
    const mine: string[] = [];
    for (const info of this.#roster.membersIn(room)) if (info.id !== member) mine.push(info.name);
    let names: string[] | null;
    try {
      names = [...mine, ...(await this.#bus.othersIn(room))];
    } catch {
      names = null; // the thread answers from this server's roster
    }
    this.#channel.post({ type: 'who-reply', src: BRIDGE_ID, to: thread, request, names });
  }
}
