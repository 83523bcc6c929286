/**
 * A set of packet identifiers that allocates its Set only when the first id arrives: most
 * sessions never hold one, and an empty Set costs about 150 bytes per idle connection.
 */
export class LazyIdSet {
  private ids: Set<number> | undefined = undefined;

  has(id: number): boolean {
    return this.ids?.has(id) === true;
  }

  add(id: number): void {
    this.ids ??= new Set();
    this.ids.add(id);
  }

  delete(id: number): boolean {
    return this.ids?.delete(id) === true;
  }

  get size(): number {
    return this.ids?.size ?? 0;
  }

  clear(): void {
    this.ids = undefined;
  }
}
