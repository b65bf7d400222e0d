import { Injectable, OnModuleInit } from '@nestjs/common';

@Injectable()
export class MetricsService implements OnModuleInit {
  private requests = 0;
  private samples: number[] = [];

  onModuleInit() {
    // Samples the request rate every 5 s. Never cleared: no onModuleDestroy.
    setInterval(() => this.sample(), 5_000);
  }

  count() {
    this.requests++;
  }

  private sample() {
    this.samples.push(this.requests);
    this.requests = 0;
  }
}
