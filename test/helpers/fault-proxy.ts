/**
 * A fault-injecting HTTP proxy between an AWS client (the key daemon) and moto, on 127.0.0.1.
 *
 * ```ts
 * const proxy = await FaultProxy.start(moto.endpoint, { pageSize: 100 });
 * // point the client at proxy.endpoint (AWS_ENDPOINT_URL)
 * proxy.inject('throttle', 3);                 // next 3 requests: 400 <Code>Throttling</Code>
 * proxy.inject('http503', 2, { action: 'GetSSHPublicKey' });
 * proxy.inject('hang', 5);                     // next 5 requests never get an answer
 * proxy.countActions();                        // { ListSSHPublicKeys: 3, ... } every request seen
 * proxy.clear();                               // forget recorded requests
 * proxy.maxInFlight;                           // most concurrent requests since clear()
 * await proxy.stop();
 * ```
 *
 * Every request is recorded (action, service and signing region from the SigV4 header, access
 * key id, whether a fault answered it), so it is the trustworthy counter of IAM/STS calls: one
 * HTTP request = one API attempt (retries included).
 *
 * `pageSize` emulates AWS pagination that moto 5.2.1 lacks: ListUsers, GetGroup,
 * ListSSHPublicKeys and ListGroupsForUser answers are cut to min(MaxItems, pageSize) members with
 * IsTruncated/Marker (the marker is the offset). IAM documents that it may return fewer items
 * than MaxItems, so a correct client must follow markers whatever page size it asked for. Pages
 * after the first are cut from the upstream answer of the first page, so moto sees one request
 * per listing while the proxy records one per page.
 */
import * as http from 'http';
import * as net from 'net';

/** A fault answered instead of forwarding. */
export type Fault = 'throttle' | 'http500' | 'http503' | 'hang';

/** One request the proxy saw. */
export interface ProxiedRequest {
  readonly action: string;
  readonly service: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly params: URLSearchParams;
  /** the fault that answered it, or undefined when forwarded to moto */
  readonly fault?: Fault;
  readonly at: number;
}

interface PendingFault {
  fault: Fault;
  remaining: number;
  action?: string;
}

/** List element of each paginated IAM action. */
const PAGINATED: Record<string, string> = {
  ListUsers: 'Users',
  GetGroup: 'Users',
  ListSSHPublicKeys: 'SSHPublicKeys',
  ListGroupsForUser: 'Groups',
};

/** Splits the top-level `<member>` elements of a list body (nested members are kept whole). */
export function splitMembers(inner: string): string[] {
  const members: string[] = [];
  const re = /<member>|<\/member>/g;
  let depth = 0;
  let start = -1;
  for (const m of inner.matchAll(re)) {
    if (m[0] === '<member>') {
      if (depth === 0) start = m.index!;
      depth++;
    } else {
      depth--;
      if (depth === 0) members.push(inner.slice(start, m.index! + m[0].length));
    }
  }
  return members;
}

/** Cuts one page out of a complete (unpaginated) answer; see the header comment. */
export function paginate(xml: string, listTag: string, offset: number, size: number): string {
  const open = `<${listTag}>`;
  const close = `</${listTag}>`;
  const from = xml.indexOf(open);
  // the list's own closing tag is the last one at its level: search after the last member
  const to = xml.lastIndexOf(close);
  if (from < 0 || to < from) return xml;
  const members = splitMembers(xml.slice(from + open.length, to));
  const page = members.slice(offset, offset + size);
  const truncated = offset + size < members.length;
  let out = xml.slice(0, from) + open + page.join('') + close + xml.slice(to + close.length);
  out = out.replace(/<IsTruncated>[^<]*<\/IsTruncated>/, '').replace(/<Marker>[^<]*<\/Marker>/, '');
  const extra = `<IsTruncated>${truncated}</IsTruncated>` + (truncated ? `<Marker>${offset + size}</Marker>` : '');
  const at = out.indexOf(close, from) + close.length;
  return out.slice(0, at) + extra + out.slice(at);
}

const ERRORS: Record<Exclude<Fault, 'hang'>, { status: number; code: string; message: string }> = {
  throttle: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
  http500: { status: 500, code: 'ServiceFailure', message: 'Internal failure (injected)' },
  http503: { status: 503, code: 'ServiceUnavailable', message: 'Service unavailable (injected)' },
};

/** The proxy. */
export class FaultProxy {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** every request seen, in arrival order */
  readonly requests: ProxiedRequest[] = [];
  private faults: PendingFault[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** emulated page size; undefined = pass answers through unchanged */
  pageSize?: number;
  /** full upstream answer of the pagination in progress, per action and parameters */
  private readonly fullAnswers = new Map<string, { status: number; headers: http.IncomingHttpHeaders; text: string }>();
  /** requests moto could not be reached for (answered 502) */
  upstreamErrors = 0;
  /** delay added before forwarding each request (to make concurrency observable) */
  delayMs = 0;
  /** requests that came and whose answer has not begun (forwarded, delayed or hanging) */
  inFlight = 0;
  /**
   * the most requests at once among those that came since start or `clear()` (one still open
   * from before, such as a hanging one its client has not yet given up, does not count)
   */
  maxInFlight = 0;
  private epoch = 0;
  private inFlightThisEpoch = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly upstream: URL,
    options: { pageSize?: number },
  ) {
    this.endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    this.pageSize = options.pageSize;
  }

  /** Starts the proxy on a free 127.0.0.1 port in front of `upstream` (moto's endpoint). */
  static async start(upstream: string, options: { pageSize?: number } = {}): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = http.createServer((req, res) => void proxy!.handle(req, res));
    // Node closes idle keep-alive connections after 5 s; a client reusing one at that moment
    // retries, which would add an attempt the test did not cause. Keep them open instead.
    server.keepAliveTimeout = 120000;
    server.on('connection', (s) => {
      proxy?.sockets.add(s);
      s.on('close', () => proxy?.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, new URL(upstream), options);
    return proxy;
  }

  /** The next `count` requests (of `action`, if given) are answered with `fault`. */
  inject(fault: Fault, count: number, filter: { action?: string } = {}): void {
    this.faults.push({ fault, remaining: count, action: filter.action });
  }

  /** Drops faults not yet used. */
  clearFaults(): void {
    this.faults = [];
  }

  /** Forgets the recorded requests. */
  clear(): void {
    this.requests.length = 0;
    this.epoch++;
    this.inFlightThisEpoch = 0;
    this.maxInFlight = 0;
  }

  /** Actions of the recorded requests, in order. */
  actions(): string[] {
    return this.requests.map((r) => r.action);
  }

  /** Recorded requests per action. */
  countActions(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) counts[r.action] = (counts[r.action] ?? 0) + 1;
    return counts;
  }

  private takeFault(action: string): Fault | undefined {
    const pending = this.faults.find((f) => f.remaining > 0 && (!f.action || f.action === action));
    if (!pending) return undefined;
    pending.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return pending.fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const epoch = this.epoch;
    this.inFlight++;
    this.inFlightThisEpoch++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlightThisEpoch);
    // Over as the answer begins (done() right before it is written, in the same turn of the event
    // loop, so the client cannot have it and send its next request first), or when the client
    // gives up (a hanging request: 'close').
    let over = false;
    const done = () => {
      if (!over) {
        over = true;
        this.inFlight--;
        if (epoch === this.epoch) this.inFlightThisEpoch--;
      }
    };
    res.on('close', done);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const params = new URLSearchParams(body);
    const auth = String(req.headers.authorization ?? '');
    const scope = /Credential=([^/]*)\/[^/]*\/([^/]*)\/([^/]*)\//.exec(auth);
    const action = params.get('Action') ?? '?';
    const fault = this.takeFault(action);
    this.requests.push({
      action,
      service: scope?.[3] ?? '?',
      region: scope?.[2] ?? '?',
      accessKeyId: scope?.[1] ?? '?',
      params,
      fault,
      at: Date.now(),
    });
    if (fault === 'hang') {
      return; // never answer; the socket is destroyed by the client's timeout or by stop()
    }
    if (fault) {
      const e = ERRORS[fault];
      const xml =
        `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>` +
        `<Code>${e.code}</Code><Message>${e.message}</Message></Error>` +
        `<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
      done();
      res.writeHead(e.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
      return;
    }
    const listTag = this.pageSize ? PAGINATED[action] : undefined;
    let offset = 0;
    let size = 0;
    let forwardBody = body;
    if (listTag) {
      offset = Number(params.get('Marker') ?? '0') || 0;
      size = Math.min(Number(params.get('MaxItems') ?? '100') || 100, this.pageSize!);
      const upstreamParams = new URLSearchParams(params);
      upstreamParams.delete('Marker');
      upstreamParams.delete('MaxItems');
      forwardBody = upstreamParams.toString();
    }
    try {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      // Later pages are cut from the answer fetched for the first page, as one consistent list
      // (and moto, slow at listing 1,000+ users, is asked once per listing, not once per page).
      const cacheKey = `${action}?${forwardBody}`;
      const cached = listTag && offset > 0 ? this.fullAnswers.get(cacheKey) : undefined;
      const { status, headers, text } = cached ?? (await this.forward(req, forwardBody));
      if (listTag && offset === 0) this.fullAnswers.set(cacheKey, { status, headers, text });
      const out = listTag && status === 200 ? paginate(text, listTag, offset, size) : text;
      const h = { ...headers };
      delete h['content-length'];
      delete h['transfer-encoding'];
      delete h.connection;
      done();
      res.writeHead(status, { ...h, 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch (err) {
      this.upstreamErrors++;
      done();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  }

  private forward(req: http.IncomingMessage, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.upstream.host, 'content-length': String(Buffer.byteLength(body)) };
      delete headers['transfer-encoding'];
      const up = http.request(
        // agent: false = a fresh connection per request; reusing a kept-alive socket that moto
        // is closing would turn into a 502 and a retry the test did not cause
        { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers, agent: false },
        (r) => {
          const parts: Buffer[] = [];
          r.on('data', (c: Buffer) => parts.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 502, headers: r.headers, text: Buffer.concat(parts).toString() }));
          r.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  }

  /** Stops listening and cuts every open (also hanging) connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
