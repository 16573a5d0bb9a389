/**
 * Topic exchange: binding keys are dot-separated words where `*` matches exactly one word and `#`
 * zero or more. Bindings live in a trie of words, so matching cost follows the routing key's words
 * and the shape of the patterns, not the number of bindings.
 *
 * Words are split as RabbitMQ splits them (rabbit_exchange_type_topic:split_topic_key): "" has no
 * words, "a." is ["a", ""], "a..b" is ["a", "", "b"], so `*` also matches an empty word.
 */
import type { Message } from '../message/message.js';
import { Exchange, type Binding, type Destination, type RouteSink } from './exchange.js';

/** Children and destinations are created on first use: most nodes of a big trie have only one. */
class TrieNode {
  children: Map<string, TrieNode> | null = null;
  /** Destinations bound with a key ending at this node (with multiplicity, one per binding). */
  destinations: Destination[] | null = null;

  child(word: string): TrieNode | undefined {
    return this.children === null ? undefined : this.children.get(word);
  }
}

function splitTopicKey(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/** Results cached per routing key; cleared whenever a binding changes. */
const CACHE_LIMIT = 4096;

export class TopicExchange extends Exchange {
  readonly type = 'topic';
  private readonly root = new TrieNode();
  private cache = new Map<string, Destination[]>();

  protected onBind(b: Binding): void {
    let node = this.root;
    for (const w of splitTopicKey(b.routingKey)) {
      let next = node.child(w);
      if (next === undefined) (node.children ??= new Map()).set(w, (next = new TrieNode()));
      node = next;
    }
    (node.destinations ??= []).push(b.destination);
    this.cache.clear();
  }

  protected onUnbind(b: Binding): void {
    const path: [TrieNode, string][] = [];
    let node = this.root;
    for (const w of splitTopicKey(b.routingKey)) {
      const next = node.child(w);
      if (next === undefined) return;
      path.push([node, w]);
      node = next;
    }
    const dests = node.destinations;
    const i = dests === null ? -1 : dests.indexOf(b.destination);
    if (i >= 0) dests!.splice(i, 1);
    if (dests !== null && dests.length === 0) node.destinations = null;
    // Prune empty branches so the trie does not keep dead paths.
    for (let k = path.length - 1; k >= 0; k--) {
      const [parent, w] = path[k]!;
      const child = parent.child(w)!;
      if (child.destinations !== null || (child.children !== null && child.children.size > 0)) break;
      parent.children!.delete(w);
    }
    this.cache.clear();
  }

  route(_msg: Message, routingKey: string, sink: RouteSink): void {
    let hit = this.cache.get(routingKey);
    if (hit === undefined) {
      const found = new Set<Destination>();
      match(this.root, splitTopicKey(routingKey), 0, found);
      hit = [...found];
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(routingKey, hit);
    }
    for (let i = 0; i < hit.length; i++) sink.add(hit[i]!);
  }
}

/** The trie walk of RabbitMQ's trie_match: literal word, `*` for one word, `#` for zero or more. */
function match(node: TrieNode, words: readonly string[], i: number, out: Set<Destination>): void {
  const children = node.children;
  if (i === words.length) {
    if (node.destinations !== null) for (const d of node.destinations) out.add(d);
    const hash = children?.get('#');
    if (hash !== undefined) match(hash, words, i, out);
    return;
  }
  if (children === null) return;
  const literal = children.get(words[i]!);
  if (literal !== undefined) match(literal, words, i + 1, out);
  const star = children.get('*');
  if (star !== undefined) match(star, words, i + 1, out);
  const hash = children.get('#');
  if (hash !== undefined) {
    // `#` swallows zero or more words.
    for (let j = i; j <= words.length; j++) match(hash, words, j, out);
  }
}
