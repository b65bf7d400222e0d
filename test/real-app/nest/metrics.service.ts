import { Injectable, OnModuleInit } from '@nestjs/common';

@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly samples: number[] = [];

  onModuleInit() {
    // Samples heap usage every 5 s. Never cleared: there is no onModuleDestroy.
    setInterval(() => this.sample(), 5_000);
  }

  latest(): number | undefined {
    return this.samples[this.samples.length - 1];
  }

  private sample() {
    this.samples.push(process.memoryUsage().heapUsed);
    if (this.samples.length > 100) this.samples.shift();
  }
}
