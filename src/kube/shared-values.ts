// One instance for equal values. The pods of one ReplicaSet carry the same labels and container ports, and the
// pods of a cluster a few namespace and node names: sharing those makes 100,000 pods hold a few thousand label
// maps instead of 100,000. Model values are readonly, so a shared one is as good as a private copy.
import type { Pod } from '../model/index.js';

export class SharedValues {
  readonly #objects = new Map<string, WeakRef<object>>();
  // An object no pod holds any more is collected; its entry goes with it.
  readonly #forget = new FinalizationRegistry<string>((key) => {
    if (this.#objects.get(key)?.deref() === undefined) this.#objects.delete(key);
  });
  /** Names of namespaces and nodes: few, and kept for as long as the state lives. */
  readonly #names = new Map<string, string>();

  pod(pod: Pod): Pod {
    return {
      ...pod,
      namespace: this.#name(pod.namespace),
      ...(pod.nodeName !== undefined ? { nodeName: this.#name(pod.nodeName) } : {}),
      labels: this.#object(pod.labels),
      ports: this.#object(pod.ports),
    };
  }

  #name(name: string): string {
    const known = this.#names.get(name);
    if (known !== undefined) return known;
    this.#names.set(name, name);
    return name;
  }

  #object<T extends object>(value: T): T {
    const key = JSON.stringify(value);
    const known = this.#objects.get(key)?.deref();
    if (known !== undefined) return known as T;
    this.#objects.set(key, new WeakRef(value));
    this.#forget.register(value, key);
    return value;
  }
}
