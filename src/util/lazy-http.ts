/**
 * An HTTP port that listens from start-up but loads its application at the first request.
 *
 * The management API and the Prometheus endpoint are served by fastify. Importing fastify and the
 * API's modules was about 9 MiB of the broker's private memory at idle (issue 18: 25.8 -> 16.5 MiB
 * of anonymous memory, RSS 66 -> 57 MiB), for ports that many nodes never see a request on. So the
 * port is bound at start-up as before (a taken port still fails the start), and the first request
 * imports the application and is answered by it, as is every later one; a load that fails answers
 * 500, logs, and is tried again at the next request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** An application serving requests of a server it did not create. */
export interface LoadedApp {
  readonly handler: RequestHandler;
  close(): Promise<void>;
}

export class LazyHttpListener {
  readonly server: Server = createServer();
  private app: Promise<LoadedApp> | undefined;

  constructor(
    private readonly load: (server: Server) => Promise<LoadedApp>,
    private readonly log: Logger,
    private readonly listener: string,
  ) {
    this.server.on('request', this.first);
  }

  /** Requests until the application is loaded (those arriving during the load wait for it). */
  private readonly first = (req: IncomingMessage, res: ServerResponse): void => {
    this.app ??= this.load(this.server).then((app) => {
      this.server.off('request', this.first);
      this.server.on('request', app.handler);
      return app;
    });
    this.app.then(
      (app) => app.handler(req, res),
      (err: Error) => {
        this.app = undefined;
        this.log.error({ err: err.message, listener: this.listener }, 'could not load the HTTP application');
        res.statusCode = 500;
        res.end();
      },
    );
  };

  /** Binds the port (0: a free one); listen errors are thrown as they come. */
  listen(port: number, host: string): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(a !== null && typeof a === 'object' ? { port: a.port, host: a.address } : { port, host });
      });
    });
  }

  async close(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app !== undefined) await app.then((a) => a.close(), () => {});
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
