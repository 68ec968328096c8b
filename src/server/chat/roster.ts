/**
 * Who is in which room, on every thread of this server: each thread keeps a copy,
 * fed by the membership events of the others (bus.ts). It answers `!WHO` and
 * says which threads have members in a room (only those are sent its messages).
 */

export interface MemberInfo {
  /** Unique in this server (a counter in shared memory). */
  readonly id: number;
  /** The thread that serves the connection. */
  readonly thread: number;
  /** `<from>`: its name, or its address. */
  name: string;
  room: string;
}

/** Roster.enter()'s answer for a member it did not know ('' is never a room: rooms have 1 to 32 bytes). */
export const NEW_MEMBER = '';

export class Roster {
  readonly #members = new Map<number, MemberInfo>();
  readonly #rooms = new Map<string, Set<MemberInfo>>();
  /** room -> thread -> members of that room on that thread. */
  readonly #threadsOf = new Map<string, Map<number, number>>();

  get(id: number): MemberInfo | undefined {
    return this.#members.get(id);
  }

  /**
   * Puts a member into `room`, taking it out of its previous room. Returns the room it
   * left, NEW_MEMBER for a member not known before, or null if it was there already.
   */
  enter(id: number, thread: number, name: string, room: string): string | null {
    const known = this.#members.get(id);
    if (!known) {
      this.#add({ id, thread, name, room });
      return NEW_MEMBER;
    }
    known.name = name;
    if (known.room === room) return null;
    const previous = known.room;
    this.#remove(known);
    known.room = room;
    this.#add(known);
    return previous;
  }

  /** Takes a member out; returns what it was. */
  leave(id: number): MemberInfo | undefined {
    const known = this.#members.get(id);
    if (known) this.#remove(known);
    return known;
  }

  rename(id: number, name: string): void {
    const known = this.#members.get(id);
    if (known) known.name = name;
  }

  /** The threads with at least one member in `room`. */
  threadsIn(room: string): IterableIterator<number> {
    return (this.#threadsOf.get(room) ?? new Map<number, number>()).keys();
  }

  hasMembersOn(room: string, thread: number): boolean {
    return (this.#threadsOf.get(room)?.get(thread) ?? 0) > 0;
  }

  /** The rooms with members. */
  rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  membersIn(room: string): MemberInfo[] {
    return [...(this.#rooms.get(room) ?? [])];
  }

  /** Every member served by `thread`. */
  membersOf(thread: number): MemberInfo[] {
    return [...this.#members.values()].filter((m) => m.thread === thread);
  }

  #add(member: MemberInfo): void {
    this.#members.set(member.id, member);
    let inRoom = this.#rooms.get(member.room);
    if (!inRoom) this.#rooms.set(member.room, (inRoom = new Set()));
    inRoom.add(member);
    let threads = this.#threadsOf.get(member.room);
    if (!threads) this.#threadsOf.set(member.room, (threads = new Map<number, number>()));
    threads.set(member.thread, (threads.get(member.thread) ?? 0) + 1);
  }

  #remove(member: MemberInfo): void {
    this.#members.delete(member.id);
    const inRoom = this.#rooms.get(member.room);
    inRoom?.delete(member);
    if (inRoom?.size === 0) this.#rooms.delete(member.room);
    const threads = this.#threadsOf.get(member.room);
    if (!threads) return;
    const left = (threads.get(member.thread) ?? 1) - 1;
    if (left > 0) threads.set(member.thread, left);
    else threads.delete(member.thread);
    if (threads.size === 0) this.#threadsOf.delete(member.room);
  }
}
