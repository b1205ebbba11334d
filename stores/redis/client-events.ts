export interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface Watcher {
  up(): void;
  down(): void;
}

/** The stores watching each client, and how to take the client's listeners off again. */
const watchers = new WeakMap<object, { stores: Set<Watcher>; detach: () => void }>();

type Listeners = [event: string, listener: () => void][];

/**
 * Adds `watcher` to the stores watching `client`. The first one adds one set of listeners to the
 * client (`listenersFor` says which events tell it up or down), which tell every watching store;
 * the last one to leave takes them off. So any number of stores share one listener per event, and
 * Node's warning past ten listeners never fires.
 */
export function watchClientEvents(client: Emitter, watcher: Watcher, listenersFor: (up: () => void, down: () => void) => Listeners): () => void {
  let entry = watchers.get(client);
  if (entry === undefined) {
    const stores = new Set<Watcher>();
    const listeners = listenersFor(
      () => stores.forEach((store) => store.up()),
      () => stores.forEach((store) => store.down()),
    );
    for (const [event, listener] of listeners) client.on(event, listener);
    const detach = () => {
      for (const [event, listener] of listeners) client.off(event, listener);
    };
    entry = { stores, detach };
    watchers.set(client, entry);
  }
  const shared = entry;
  shared.stores.add(watcher);
  return () => {
    if (!shared.stores.delete(watcher) || shared.stores.size > 0) return;
    shared.detach();
    watchers.delete(client);
  };
}
