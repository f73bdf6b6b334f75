// Group commit: items handed in while a write is running are written together by the next one, so many
// finished deliveries cost one statement instead of one each, and a quiet period costs no waiting.

export function groupWriter<T>(write: (items: T[]) => Promise<void>): { add(item: T): Promise<void>; idle(): Promise<void> } {
  let pending: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let running: Promise<void> | undefined;
  const pump = async () => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await write(batch.map((p) => p.item));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  };
  // An item added after pump's last check but before it settled starts the next round.
  const start = (): void => {
    running = pump().finally(() => {
      running = undefined;
      if (pending.length > 0) start();
    });
  };
  return {
    add(item) {
      const done = new Promise<void>((resolve, reject) => pending.push({ item, resolve, reject }));
      if (!running) start();
      return done;
    },
    idle: async () => {
      while (running) await running;
    },
  };
}
