/** Lowest-free-number allocator (CI_CONCURRENT_ID and CI_CONCURRENT_PROJECT_ID). */
export class LowestFree {
  private readonly used = new Set<number>();

  take(): number {
    let n = 0;
    while (this.used.has(n)) n++;
    this.used.add(n);
    return n;
  }

  give(n: number): void {
    this.used.delete(n);
  }
}
