// The pipeline with its outputs collected, as the monitor would route them: the
// syslog lines and the structured events, each in the order the pipeline returned them.

import type { DetectorParams } from '../../src/shared/params.js';
import type { AnswerRecord, Ip6Record, Summary4 } from '../../src/shared/record.js';
import type { MonitorEvent } from '../../src/shared/events.js';
import { ScanPipeline, type Output, type PipelineOptions } from '../../src/monitor/pipeline.js';
import type { SocketRead } from '../../src/monitor/slowscan.js';

export class RecordedPipeline extends ScanPipeline {
  /** The text of every line, in order. */
  readonly lines: string[] = [];
  readonly events: MonitorEvent[] = [];
  /** Every output, lines and events together, in order. */
  readonly outputs: Output[] = [];

  constructor(params: Readonly<DetectorParams>, options: PipelineOptions = {}) {
    super(params, options);
  }

  private record(outputs: readonly Output[]): readonly Output[] {
    for (const output of outputs) {
      this.outputs.push(output);
      if (output.kind === 'line') this.lines.push(output.text);
      else this.events.push(output.event);
    }
    return outputs;
  }

  /** An IPv4 TCP segment. */
  feed(summary: Summary4, monoNow: number, wallNowMs: number): void {
    this.record(this.handle({ ...summary, type: 'tcp4' }, monoNow, wallNowMs));
  }

  /** A host's answer that left the watched device. */
  feedAnswer(answer: AnswerRecord, monoNow: number, wallNowMs: number): void {
    this.record(this.answer(answer, monoNow, wallNowMs));
  }

  /** An IPv4 UDP datagram. */
  feedUdp(summary: Summary4, monoNow: number, wallNowMs: number): void {
    this.record(this.handle({ ...summary, type: 'udp4' }, monoNow, wallNowMs));
  }

  /** An IPv6 TCP segment or UDP datagram. */
  feed6(record: Ip6Record, monoNow: number, wallNowMs: number): void {
    this.record(this.handle(record, monoNow, wallNowMs));
  }

  override sweep(monoNow: number, wallNowMs: number): readonly Output[] {
    return this.record(super.sweep(monoNow, wallNowMs));
  }

  override refreshSockets(read: SocketRead, monoNow: number, wallNowMs: number): readonly Output[] {
    return this.record(super.refreshSockets(read, monoNow, wallNowMs));
  }
}
