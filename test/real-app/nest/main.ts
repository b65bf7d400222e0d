// A NestJS API. On SIGTERM it calls app.close(): Nest closes the HTTP server and runs the
// lifecycle hooks, but MetricsService's interval (started in onModuleInit) is never cleared.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  console.log('listening');

  process.on('SIGTERM', async () => {
    console.log('shutting down');
    await app.close();
    console.log('closed');
  });
}

bootstrap();
