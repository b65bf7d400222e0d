import { Module } from '@nestjs/common';
import { AppController } from './app.controller';
import { MetricsService } from './metrics.service';

@Module({
  controllers: [AppController],
  providers: [MetricsService],
})
export class AppModule {}
