/**
 * /api/definitions (rabbit_mgmt_wm_definitions): export and import, whole or per vhost, through the
 * broker's own exportDefinitions and importDefinitions (a file with any problem changes nothing).
 */
import { DefinitionsError } from '../../definitions/definitions.js';
import { isJsonObject, parseJson, type JsonValue } from '../../util/json.js';
import type { ManagementContext } from '../context.js';
import { badRequest } from '../http-errors.js';
import { bodyText } from '../request-body.js';
import { Answer, noContent, type ApiRequest, type Route } from '../route.js';
import { vhostFor } from '../vhost-scope.js';

function exportAll(ctx: ManagementContext, req: ApiRequest): Answer {
  const vhost = req.params.vhost;
  if (vhost !== undefined) vhostFor(ctx, req.user, vhost);
  const text = ctx.broker.exportDefinitions(vhost);
  // ?download=name makes the browser save it (rabbit_mgmt_wm_definitions: content-disposition).
  const download = typeof req.query.download === 'string' ? req.query.download : undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (download !== undefined) headers['content-disposition'] = `attachment; filename=${download.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  return new Answer(200, text, headers);
}

function parsed(text: string): { [key: string]: JsonValue } {
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch {
    throw badRequest('not_json');
  }
  if (!isJsonObject(v)) throw badRequest('not_json');
  return v;
}

/** A per-vhost import puts everything of the file into the vhost of the path, whatever the file says. */
function intoVhost(defs: { [key: string]: JsonValue }, vhost: string): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const key of ['queues', 'exchanges', 'bindings', 'policies', 'operator_policies']) {
    const list = defs[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw badRequest(`${key} must be a list`);
    out[key] = list.map((item) => (isJsonObject(item) ? { ...item, vhost } : item));
  }
  return out;
}

function importAll(ctx: ManagementContext, req: ApiRequest) {
  const vhost = req.params.vhost;
  const text = bodyText(req.body);
  let input: string | JsonValue = text;
  if (vhost !== undefined) {
    vhostFor(ctx, req.user, vhost, 'act');
    input = intoVhost(parsed(text), vhost);
  } else parsed(text);
  try {
    ctx.broker.importDefinitions(input);
  } catch (e) {
    if (e instanceof DefinitionsError) throw badRequest(e.message);
    throw e;
  }
  return noContent();
}

export const definitionsRoutes: readonly Route[] = [
  { method: 'GET', url: '/api/definitions', level: 'administrator', handler: exportAll },
  { method: 'POST', url: '/api/definitions', level: 'administrator', handler: importAll },
  { method: 'GET', url: '/api/definitions/:vhost', level: 'administrator', handler: exportAll },
  { method: 'POST', url: '/api/definitions/:vhost', level: 'administrator', handler: importAll },
];
