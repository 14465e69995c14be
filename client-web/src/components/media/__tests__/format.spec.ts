import { describe, expect, it } from 'vitest';

import {
  attachmentSummary,
  downloadName,
  downloadUrl,
  fileBadge,
  fileType,
  formatBytes,
  formatTime,
  nextSpeed,
  safeFileName,
  speedLabel,
  spokenTime,
  waveformBars,
} from '../format';

describe('media format helpers', () => {
  it('formats sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1024)).toBe('1 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(12 * 1024 + 300)).toBe('12 KB');
    expect(formatBytes(3.44 * 1024 * 1024)).toBe('3.4 MB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MB'); // never "1024 KB"
    expect(formatBytes(100 * 1024 ** 3)).toBe('100 GB');
    expect(formatBytes(-1)).toBe('');
  });

  it('formats times', () => {
    expect(formatTime(0)).toBe('0:00');
    expect(formatTime(5.9)).toBe('0:05');
    expect(formatTime(65)).toBe('1:05');
    expect(formatTime(3723)).toBe('1:02:03');
    expect(formatTime(Number.NaN)).toBe('0:00');
    expect(formatTime(Number.POSITIVE_INFINITY)).toBe('0:00');
    expect(spokenTime(65)).toBe('1 minute 5 seconds');
    expect(spokenTime(0)).toBe('0 seconds');
    expect(spokenTime(3600)).toBe('1 hour');
  });

  it('cycles the speed 1× → 1.5× → 2× → 1×', () => {
    expect(nextSpeed(1)).toBe(1.5);
    expect(nextSpeed(1.5)).toBe(2);
    expect(nextSpeed(2)).toBe(1);
    expect(nextSpeed(0.75)).toBe(1);
    expect(speedLabel(1.5)).toBe('1.5×');
  });

  it('tells file types by name, then mime', () => {
    expect(fileType('application/octet-stream', 'report.PDF')).toBe('pdf');
    expect(fileType('application/octet-stream', 'src.tar.gz')).toBe('archive');
    expect(fileType('application/octet-stream', 'budget.xlsx')).toBe('spreadsheet');
    expect(fileType('application/pdf')).toBe('pdf');
    expect(fileType('application/octet-stream', 'README')).toBe('file');
    expect(fileType('application/octet-stream', '.bashrc')).toBe('file');
    expect(fileBadge('application/octet-stream', 'notes.docx')).toBe('DOCX');
    expect(fileBadge('application/octet-stream', 'data.verylongext')).toBe('FILE');
    expect(fileBadge('application/pdf')).toBe('PDF');
  });

  it('makes names the node accepts in name=, and download links', () => {
    expect(safeFileName('../../etc/passwd')).toBe('._._etc_passwd');
    expect(safeFileName('a\\b/c\u0000d\u001fe.txt')).toBe('a_b_c_d_e.txt');
    expect(safeFileName('x'.repeat(300))).toHaveLength(255);
    expect(safeFileName('  ')).toBe('');
    expect(downloadName('image/jpeg', 'image')).toBe('image.jpg');
    expect(downloadName('audio/ogg', 'voice')).toBe('voice-message.ogg');
    expect(downloadName('application/octet-stream', 'file', 'My report.pdf')).toBe('My report.pdf');
    expect(downloadName('application/octet-stream', 'file')).toBe('file');
    expect(downloadUrl('/api/media/ab?exp=1&sig=x', 'My report.pdf')).toBe('/api/media/ab?exp=1&sig=x&dl=1&name=My%20report.pdf');
    expect(downloadUrl('/api/media/ab', '')).toBe('/api/media/ab?dl=1');
    expect(downloadUrl('/x?a=1', 'é&=.txt')).toBe('/x?a=1&dl=1&name=%C3%A9%26%3D.txt');
  });

  it('resamples a waveform to bars, keeping peaks', () => {
    const samples = new Uint8Array(100);
    samples[50] = 255;
    const bars = waveformBars(samples, 10);
    expect(bars).toHaveLength(10);
    expect(bars[5]).toBe(1);
    expect(bars.filter((b) => b > 0)).toHaveLength(1);
    // Fewer samples than bars: each sample spans several bars.
    expect(waveformBars(new Uint8Array([0, 255]), 4)).toEqual([0, 0, 1, 1]);
    expect(waveformBars(undefined, 3)).toEqual([0, 0, 0]);
  });

  it('summarises attachments', () => {
    expect(attachmentSummary([])).toBe('');
    expect(attachmentSummary([{ kind: 'image' }])).toBe('Photo');
    expect(attachmentSummary([{ kind: 'image' }, { kind: 'image' }, { kind: 'image' }])).toBe('3 photos');
    expect(attachmentSummary([{ kind: 'image' }, { kind: 'video' }])).toBe('2 photos and videos');
    expect(attachmentSummary([{ kind: 'voice' }])).toBe('Voice message');
    expect(attachmentSummary([{ kind: 'file', name: 'a.pdf' }])).toBe('a.pdf');
    expect(attachmentSummary([{ kind: 'file' }, { kind: 'audio' }])).toBe('2 attachments');
  });
});
