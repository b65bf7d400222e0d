import { Controller, Get, Inject } from '@nestjs/common';
import { MetricsService } from './metrics.service';

@Controller()
export class AppController {
  // tsx (esbuild) emits no decorator metadata: inject by explicit token.
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  @Get()
  hello() {
    this.metrics.count();
    return { ok: true };
  }
}
