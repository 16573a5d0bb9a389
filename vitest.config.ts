import { defineConfig } from 'vitest/config';

// Two projects: `unit` (test/) runs Warren in-process only; `compat` (compat/) runs the same
// client scenarios against a real RabbitMQ and against Warren and compares them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'compat',
          include: ['compat/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
