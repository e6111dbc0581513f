// compose(): runs steps as an onion, each step awaiting next() to run the rest (Hono's model, without the router).

export type Next = () => Promise<void>;
export type Step<C> = (ctx: C, next: Next) => Promise<void>;

export function compose<C>(steps: readonly Step<C>[]): (ctx: C) => Promise<void> {
  const run = (ctx: C, i: number): Promise<void> => {
    const step = steps[i];
    if (step === undefined) return Promise.resolve();
    let called = false;
    return step(ctx, () => {
      if (called) return Promise.reject(new Error(`step ${i} called next() twice`));
      called = true;
      return run(ctx, i + 1);
    });
  };
  return (ctx) => run(ctx, 0);
}
