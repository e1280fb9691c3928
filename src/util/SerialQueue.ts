/**
 * Runs async jobs one at a time, in order (JVB serialises colibri2 handling per conference:
 * `ColibriQueue.kt`). A failing job rejects its own promise and does not stop the queue.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Enqueue `job`; resolves/rejects with its result once all earlier jobs finished. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(job);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
