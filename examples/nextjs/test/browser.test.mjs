// The example's pages in a real browser (headless Chromium via
// playwright-core) against `next start` (after `next build`) and a fresh
// PostgreSQL: lora-export-react's export modal (scope counts, format,
// options, the collapsible preview, small and queued exports, the
// keyboard-only path, Esc), its history (paging, sortable columns, filters
// and dates, status messages, retry, delete, the audit trail), the admin
// view at /admin/exports, and /signin. Screenshots at 1366×768 and
// 1920×1080 under target/screenshots, each asserting the dialog fits and its
// actions are visible (LORA_EXPORT_UPDATE_SCREENSHOTS=1: the 1366×768 ones
// also as docs/export-modal.png and docs/history.png).
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { ExportClient, exportDataset, transform } from 'lora-export'
import { conversation, createUser, freshDatabase, jsonl, sql, undated, unzip } from '../../../bindings-node/test/support.mjs'
import { SECRET, claims, es256, es256Key, hs256, serveJwks } from '../../../bindings-node/test/tokens.mjs'
import { focused, launchChromium, repoRoot, sessionCookies, startNext, tabTo } from './browser-support.mjs'

const SETTINGS_KEY = 'lora-export:last-export-settings'
const VIEWPORT = { width: 1280, height: 900 }

// 600 approved conversations (every 15th an edge case: 40), then 20 pending
// review and 10 rejected scenarios: all approved = 600, all data = 630.
function dataset() {
  const list = []
  for (let i = 0; i < 600; i++) list.push(conversation(i, { tier: i % 15 === 0 ? 'edge_case' : 'template' }))
  for (let i = 600; i < 630; i++) list.push(conversation(i, { tier: 'scenario', status: i < 620 ? 'pending_review' : 'rejected' }))
  return list
}

test('the export modal and the history page in a browser', { timeout: 600_000 }, async (t) => {
  const data = dataset()
  const url = freshDatabase()
  const storageRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-ui-'))
  const setup = await ExportClient.connect(url, { storageRoot })
  await setup.migrate({ supabaseStandIns: true })
  assert.equal((await setup.importConversations(jsonl(data))).imported, data.length)
  setup.close()
  const [alice, bob, admin] = [createUser(url), createUser(url), createUser(url)]
  const key = es256Key()
  const jwks = await serveJwks([key])
  t.after(() => jwks.close())
  const { supabaseUrl } = jwks

  const server = await startNext({
    DATABASE_URL: url,
    SUPABASE_URL: supabaseUrl,
    SUPABASE_JWT_SECRET: SECRET,
    LORA_EXPORT_STORAGE_ROOT: storageRoot,
    LORA_EXPORT_BATCH_SIZE: '100',
    LORA_EXPORT_WORKER_THROTTLE_MS: '300',
    LORA_EXPORT_RATE_LIMIT: '1000',
    LORA_EXPORT_MAX_JOBS_PER_USER: '1000',
  })
  t.after(() => server.stop())
  const { base } = server

  const browser = await launchChromium()
  t.after(() => browser.close())
  const contextFor = async (token) => {
    const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true })
    if (token) await context.addCookies(sessionCookies(supabaseUrl, token, base))
    return context
  }
  const aliceToken = es256(claims(alice, supabaseUrl), key)
  const alicePage = await (await contextFor(aliceToken)).newPage()
  const pageErrors = []
  alicePage.on('pageerror', (e) => pageErrors.push(e.message))
  t.after(() => assert.deepEqual(pageErrors, [], 'no uncaught errors in the page'))

  const edgeCases = data.filter((c) => c.tier === 'edge_case')

  // The conversations page, with the modal's remembered settings cleared
  // (unless `keepSettings`), `select` rows checked and, with `edgeCases`,
  // the tier filter on edge cases; then the modal opened.
  const openModal = async (page, { select = 0, edgeCases: filter = false, keepSettings = false } = {}) => {
    await page.goto(base + '/')
    if (!keepSettings) await page.evaluate((k) => localStorage.removeItem(k), SETTINGS_KEY)
    await page.goto(base + '/')
    const rows = page.locator('tbody tr input[type="checkbox"]')
    await rows.first().waitFor()
    const ids = []
    for (let i = 0; i < select; i++) {
      const box = rows.nth(i)
      await box.check()
      ids.push((await box.getAttribute('aria-label')).replace(/^Select /, ''))
    }
    if (filter) {
      const listed = page.waitForResponse((r) => r.url().endsWith('/api/conversations') && r.request().postDataJSON()?.filters?.tierTypes)
      await page.getByRole('checkbox', { name: 'Edge case' }).check()
      await listed
    }
    await page.getByRole('button', { name: 'Export', exact: true }).click()
    const dialog = page.getByRole('dialog', { name: 'Export Conversations' })
    await dialog.waitFor()
    return { dialog, titles: ids }
  }
  const exportButton = (dialog) => dialog.getByRole('button', { name: /^Export \d+ Conversations?$/ })

  await t.test('without a sign-in the page links to /signin; the form there signs in with the ssr cookie', async () => {
    const context = await contextFor(null)
    const page = await context.newPage()
    await page.goto(base + '/')
    await page.getByRole('alert').filter({ hasText: 'not signed in' }).waitFor()
    await page.getByRole('link', { name: 'Sign in', exact: true }).last().click()
    await page.waitForURL(base + '/signin')
    assert.match(await page.locator('form.signin').textContent(), /sb-127-auth-token/, 'the cookie named after SUPABASE_URL')
    await page.getByLabel('Access token').fill(hs256(claims(bob, supabaseUrl)))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(base + '/')
    await page.locator('tbody tr input[type="checkbox"]').first().waitFor()
    const cookie = (await context.cookies()).find((c) => c.name === 'sb-127-auth-token')
    assert.ok(cookie?.value.startsWith('base64-'), 'the @supabase/ssr cookie format')
    assert.equal(cookie.path, '/')
    assert.equal(cookie.sameSite, 'Lax')
    assert.match(await page.locator('.lx-pager span').textContent(), /630 items/)
    await context.close()
  })

  await t.test('the scope counts match the data and follow the selection and filters', async () => {
    const { dialog } = await openModal(alicePage, { select: 3, edgeCases: true })
    assert.equal(await dialog.getAttribute('aria-modal'), 'true')
    assert.ok((await focused(alicePage)).inDialog, 'focus moved into the dialog')
    const count = (scope) => alicePage.locator(`#scope-count-${scope}`)
    await alicePage.waitForFunction(() => !document.querySelector('#scope-count-all')?.textContent?.includes('…'))
    assert.equal(await count('selected').textContent(), '3 selected')
    assert.equal(await count('filtered').textContent(), `${edgeCases.length} matching`)
    assert.equal(await count('all').textContent(), `${data.filter((c) => c.status === 'approved').length} approved`)
    assert.equal(await count('all_data').textContent(), `${data.length} total`)
    // The defaults of the seeds on a first open.
    assert.ok(await dialog.getByRole('radio', { name: /Current filters/ }).isChecked())
    assert.ok(await dialog.getByRole('radio', { name: /^JSONL/ }).isChecked())
    assert.match(await dialog.getByRole('radio', { name: /^JSONL/ }).locator('xpath=..').textContent(), /Recommended/)
    // The primary button names the chosen scope's count.
    const scopes = [['Selected conversations', 3], ['Current filters', 40], ['All approved', 600], ['All data', 630]]
    for (const [name, n] of scopes) {
      await dialog.getByRole('radio', { name: new RegExp(name) }).check()
      await exportButton(dialog).filter({ hasText: `Export ${n} Conversations` }).waitFor()
    }
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    // Another filter: the counts are fetched again.
    await alicePage.getByLabel('Status').selectOption('pending_review')
    await alicePage.getByRole('checkbox', { name: 'Edge case' }).uncheck()
    await alicePage.getByRole('checkbox', { name: 'Scenario' }).check()
    await alicePage.waitForResponse((r) => r.url().endsWith('/api/conversations') && r.request().postDataJSON()?.filters?.statuses)
    const counted = alicePage.waitForResponse((r) => r.url().endsWith('/api/export/count'))
    await alicePage.getByRole('button', { name: 'Export', exact: true }).click()
    await counted
    await alicePage.waitForFunction(() => document.querySelector('#scope-count-filtered')?.textContent === '20 matching')
    await alicePage.keyboard.press('Escape')
  })

  await t.test('the preview changes with the format: highlighted JSON(L), a CSV table, rendered Markdown', async () => {
    const { dialog } = await openModal(alicePage, { edgeCases: true })
    const body = dialog.locator('.lx-preview-body')
    const shown = (format) => alicePage.waitForSelector(`.lx-preview:not([aria-busy="true"]) .lx-preview-body[data-format="${format}"]`)
    await shown('jsonl')
    const lines = await body.locator('.lx-jsonl-line').allTextContents()
    assert.equal(lines.length, 3, 'the first 3 conversations, one line each')
    for (const line of lines) assert.ok(Array.isArray(JSON.parse(line).messages), 'OpenAI flavor: messages')
    assert.ok((await body.locator('.lx-tok-key').count()) > 0 && (await body.locator('.lx-tok-string').count()) > 0, 'highlighted')
    const jsonlText = await body.textContent()
    // The preview collapses behind its heading's button, and opens again.
    const toggle = dialog.getByRole('button', { name: /^Preview/ })
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true')
    await toggle.click()
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false')
    await body.waitFor({ state: 'hidden' })
    await toggle.press('Enter')
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true')
    await body.waitFor({ state: 'visible' })

    const formats = [
      ['JSON', 'json'],
      ['CSV', 'csv'],
      ['Markdown', 'markdown'],
    ]
    assert.ok(await dialog.getByRole('radio', { name: 'JSONL Recommended', exact: true }).isChecked())
    for (const [label, format] of formats) {
      const asked = alicePage.waitForRequest((r) => r.url().endsWith('/api/export/preview') && r.postDataJSON().config.format === format)
      await dialog.getByRole('radio', { name: label, exact: true }).check()
      await asked
      await shown(format)
      assert.notEqual(await body.textContent(), jsonlText)
    }
    // Markdown: rendered elements, not the source text.
    assert.ok((await body.locator('.lx-markdown h1, .lx-markdown h2, .lx-markdown h3').count()) >= 3, 'a heading per conversation')
    assert.ok(!(await body.textContent()).includes('## '), 'no Markdown source shown')
    // CSV: a table with a header row and a row per turn of the 3 conversations.
    await dialog.getByRole('radio', { name: 'CSV', exact: true }).check()
    await shown('csv')
    await alicePage.waitForSelector('.lx-preview-body table.lx-csv')
    assert.ok((await body.locator('table.lx-csv thead th').count()) > 3)
    assert.ok((await body.locator('table.lx-csv tbody tr').count()) >= 3)
    // JSON: one document.
    await dialog.getByRole('radio', { name: 'JSON', exact: true }).check()
    await shown('json')
    const doc = JSON.parse(await body.locator('pre').textContent())
    assert.ok(doc && typeof doc === 'object')
    // The scope changes it too.
    const rescoped = alicePage.waitForRequest((r) => r.url().endsWith('/api/export/preview') && r.postDataJSON().config.scope === 'all_data')
    await dialog.getByRole('radio', { name: /All data/ }).check()
    const request = (await rescoped).postDataJSON()
    assert.equal(request.filters, undefined, 'no filters beside scope all_data')
    // Copy to clipboard.
    await alicePage.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    await alicePage.waitForSelector('.lx-preview:not([aria-busy="true"])')
    await dialog.getByRole('button', { name: 'Copy to clipboard' }).click()
    await dialog.getByText('Copied').waitFor()
    const copied = await alicePage.evaluate(() => navigator.clipboard.readText())
    assert.ok(JSON.parse(copied), 'the preview text itself')
    await alicePage.keyboard.press('Escape')
  })

  await t.test('toggled options, flavor, system prompt and compression reach the export request; the download equals transform()', async () => {
    const { dialog } = await openModal(alicePage, { edgeCases: true })
    const toggle = dialog.getByRole('button', { name: /Options \(/ })
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false')
    await toggle.click()
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true')
    const names = ['Include metadata', 'Include quality scores', 'Include timestamps', 'Include approval history', 'Include parent references', 'Include full content']
    for (const name of names) {
      const box = dialog.getByRole('checkbox', { name })
      const help = await box.getAttribute('aria-describedby')
      const tip = (await alicePage.locator(`[id="${help}"]`).textContent()).trim()
      assert.ok(tip.length > 10, `${name} has a description`)
      assert.equal(await box.locator('xpath=..').getAttribute('title'), tip, `${name} has a tooltip`)
    }
    await dialog.getByRole('checkbox', { name: 'Include approval history' }).check()
    await dialog.getByRole('checkbox', { name: 'Include timestamps' }).uncheck()
    await dialog.getByRole('checkbox', { name: 'Include parent references' }).check()
    // Reset to Defaults, then the two changes again.
    await dialog.getByRole('button', { name: 'Reset to Defaults' }).click()
    assert.equal(await dialog.getByRole('checkbox', { name: 'Include parent references' }).isChecked(), false)
    assert.equal(await dialog.getByRole('checkbox', { name: 'Include timestamps' }).isChecked(), true)
    // A click is previewed at once (no debounce): wait from before it.
    const previewed = alicePage.waitForRequest(
      (r) => r.url().endsWith('/api/export/preview') && r.postDataJSON().config.includeApprovalHistory === true,
    )
    await dialog.getByRole('checkbox', { name: 'Include approval history' }).check()
    await dialog.getByRole('checkbox', { name: 'Include timestamps' }).uncheck()
    await previewed
    await dialog.getByLabel('JSONL flavor').selectOption('anthropic')
    await dialog.getByLabel('System prompt').fill('You are a helpful billing assistant.')
    await dialog.getByLabel('Compression').selectOption('gzip')

    const sent = alicePage.waitForRequest((r) => r.url().endsWith('/api/export/conversations') && r.method() === 'POST')
    await exportButton(dialog).filter({ hasText: `Export ${edgeCases.length} Conversations` }).click()
    const body = (await sent).postDataJSON()
    assert.deepEqual(body, {
      config: {
        scope: 'filtered',
        format: 'jsonl',
        includeMetadata: true,
        includeQualityScores: true,
        includeTimestamps: false,
        includeApprovalHistory: true,
        includeParentReferences: false,
        includeFullContent: true,
        jsonlFlavor: 'anthropic',
        systemPrompt: 'You are a helpful billing assistant.',
      },
      filters: { tierTypes: ['edge_case'] },
      compression: 'gzip',
    })
    const link = dialog.getByRole('link', { name: /^Download / })
    await link.waitFor()
    assert.ok(await link.evaluate((el) => el === document.activeElement), 'the download link takes the focus')
    const downloading = alicePage.waitForEvent('download')
    await link.click()
    const download = await downloading
    assert.match(download.suggestedFilename(), /\.jsonl\.gz$/, 'saved as the compressed file that was hashed')
    const bytes = fs.readFileSync(await download.path())
    const core = await transform(jsonl(data), body)
    assert.ok(bytes.equals(core.data), 'the downloaded file is the core output for the same request')
    const { compression: _, ...plain } = body
    assert.ok(zlib.gunzipSync(bytes).equals((await transform(jsonl(data), plain)).data), 'it gunzips to the plain export')
    // The settings are remembered: reopened after a reload, the modal has them.
    await alicePage.keyboard.press('Escape')
    await alicePage.reload()
    await alicePage.getByRole('button', { name: 'Export', exact: true }).click()
    const again = alicePage.getByRole('dialog', { name: 'Export Conversations' })
    assert.equal(await again.getByLabel('JSONL flavor').inputValue(), 'anthropic')
    assert.equal(await again.getByLabel('System prompt').inputValue(), 'You are a helpful billing assistant.')
    assert.equal(await again.getByLabel('Compression').inputValue(), 'gzip')
    await again.getByRole('button', { name: /Options \(/ }).click()
    assert.equal(await again.getByRole('checkbox', { name: 'Include approval history' }).isChecked(), true)
    assert.equal(await again.getByRole('checkbox', { name: 'Include timestamps' }).isChecked(), false)
    await alicePage.keyboard.press('Escape')
  })

  let smallExport, smallRequest
  await t.test('a small CSV export answers 201: a download link whose bytes equal transform()', async () => {
    const { dialog } = await openModal(alicePage, { edgeCases: true })
    await dialog.getByRole('radio', { name: 'CSV', exact: true }).check()
    const answered = alicePage.waitForResponse((r) => r.url().endsWith('/api/export/conversations'))
    await exportButton(dialog).filter({ hasText: 'Export 40 Conversations' }).click()
    const response = await answered
    assert.equal(response.status(), 201)
    smallExport = await response.json()
    const request = response.request().postDataJSON()
    smallRequest = request
    const link = dialog.getByRole('link', { name: `Download ${smallExport.file_name}` })
    await link.waitFor()
    assert.equal(await link.getAttribute('href'), smallExport.download_url)
    assert.match(await dialog.getByRole('status').filter({ hasText: 'Export ready' }).textContent(), /40 conversations/)
    const downloading = alicePage.waitForEvent('download')
    await link.click()
    const download = await downloading
    assert.equal(download.suggestedFilename(), smallExport.file_name)
    const bytes = fs.readFileSync(await download.path())
    assert.ok(bytes.equals((await transform(jsonl(data), request)).data), 'the download is the core output for the same data')
    await alicePage.keyboard.press('Escape')
  })

  let largeExport
  await t.test('a 600-conversation export is queued: the progress bar climbs to 100, then a download link', async () => {
    const { dialog } = await openModal(alicePage)
    await dialog.getByRole('radio', { name: /All approved/ }).check()
    await alicePage.evaluate(() => {
      window.__progress = []
      const record = () => {
        const bar = document.querySelector('[role="progressbar"]')
        if (!bar) return
        const value = Number(bar.getAttribute('aria-valuenow'))
        if (window.__progress.at(-1) !== value) window.__progress.push(value)
      }
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] })
    })
    const answered = alicePage.waitForResponse((r) => r.url().endsWith('/api/export/conversations'))
    await exportButton(dialog).filter({ hasText: 'Export 600 Conversations' }).click()
    const response = await answered
    assert.equal(response.status(), 202)
    largeExport = await response.json()
    await dialog.getByRole('progressbar').first().waitFor()
    const link = dialog.getByRole('link', { name: /^Download / })
    await link.waitFor({ timeout: 120_000 })
    const seen = await alicePage.evaluate(() => window.__progress)
    t.diagnostic(`progress values seen: ${seen.join(', ')}`)
    assert.equal(seen.at(-1), 100, `the bar ends at 100: ${seen}`)
    assert.ok(seen[0] < 100, `it starts below 100: ${seen}`)
    assert.ok(seen.every((v, i) => v >= 0 && v <= 100 && (i === 0 || v >= seen[i - 1])), `never goes back: ${seen}`)
    assert.equal(await dialog.getByRole('progressbar').getAttribute('aria-valuenow'), '100')
    const downloading = alicePage.waitForEvent('download')
    await link.click()
    const bytes = fs.readFileSync(await (await downloading).path())
    const request = response.request().postDataJSON()
    assert.ok(bytes.equals((await transform(jsonl(data), request)).data))
    await alicePage.keyboard.press('Escape')
  })

  await t.test('400 issues show beside their fields; 429 shows the wait', async () => {
    const { dialog } = await openModal(alicePage, { edgeCases: true })
    const issues = [
      { path: 'config.format', code: 'invalid_enum', message: 'unknown value `xml`' },
      { path: 'config.systemPrompt', code: 'invalid_type', message: 'expected a string' },
      { path: 'filters.qualityRange.max', code: 'out_of_range', message: '11 is outside 0–10' },
    ]
    let answer = { status: 400, body: { error: 'VALIDATION_ERROR', message: 'invalid request', issues } }
    await alicePage.route('**/api/export/conversations', (route) =>
      route.fulfill({ status: answer.status, contentType: 'application/json', body: JSON.stringify(answer.body) }),
    )
    await exportButton(dialog).filter({ hasText: 'Export 40 Conversations' }).click()
    await dialog.locator('#format-issues').filter({ hasText: 'unknown value `xml`' }).waitFor()
    assert.match(await dialog.locator('#prompt-issues').textContent(), /config\.systemPrompt: expected a string/)
    assert.match(await dialog.locator('#scope-issues').textContent(), /11 is outside 0–10/)
    assert.equal(await dialog.getByLabel('System prompt').getAttribute('aria-describedby'), 'prompt-issues')
    assert.equal(await dialog.getByRole('group', { name: 'Format' }).getAttribute('aria-describedby'), 'format-issues')
    answer = { status: 429, body: { error: 'RATE_LIMITED', message: 'too many exports', retry_after: 42 } }
    await exportButton(dialog).click()
    await dialog.getByRole('alert').filter({ hasText: 'Try again in 42 s' }).waitFor()
    assert.equal(await dialog.locator('#format-issues').count(), 0, 'the earlier issues are gone')
    await alicePage.unroute('**/api/export/conversations')
    await alicePage.keyboard.press('Escape')
  })

  await t.test('Esc closes the dialog and the focus returns to the Export button; Tab stays in the dialog', async () => {
    const { dialog } = await openModal(alicePage)
    await alicePage.waitForFunction(() => !document.querySelector('#scope-count-all')?.textContent?.includes('…'))
    for (let i = 0; i < 40; i++) {
      await alicePage.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab')
      assert.ok((await focused(alicePage)).inDialog, `Tab ${i} left the dialog`)
    }
    await alicePage.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    const now = await focused(alicePage)
    assert.deepEqual([now.tag, now.text], ['button', 'Export'])
  })

  await t.test('keyboard only: from the Export button to a downloaded export with Tab, arrows, Space and Enter', async () => {
    const page = alicePage
    await page.goto(base + '/')
    await page.evaluate((k) => localStorage.removeItem(k), SETTINGS_KEY)
    await page.goto(base + '/')
    await page.locator('tbody tr input[type="checkbox"]').first().waitFor()
    // Edge cases only (Space on the tier checkbox), then back to Export.
    await tabTo(page, (f) => f.type === 'checkbox' && f.text === 'Edge case')
    const listed = page.waitForResponse((r) => r.url().endsWith('/api/conversations') && r.request().postDataJSON()?.filters?.tierTypes)
    await page.keyboard.press('Space')
    await listed
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Export', { back: true })
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Export Conversations' })
    await dialog.waitFor()
    const inside = (f) => assert.ok(f.inDialog, `focus left the dialog: ${JSON.stringify(f)}`)
    let now = await focused(page)
    assert.deepEqual([now.type, now.name, now.value], ['radio', 'export-scope', 'filtered'], 'focus starts on the chosen scope')
    // Arrows move within the scope group (and choose).
    await page.keyboard.press('ArrowDown')
    assert.equal((await focused(page)).value, 'all')
    await page.keyboard.press('ArrowUp')
    now = await focused(page)
    assert.deepEqual([now.value, now.checked], ['filtered', true])
    // Tab into the format group; down twice: JSONL → JSON → CSV.
    now = await tabTo(page, (f) => f.name === 'export-format', { each: inside })
    assert.equal(now.value, 'jsonl')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    now = await focused(page)
    assert.deepEqual([now.value, now.checked], ['csv', true])
    // Options: Enter opens the panel, Space turns "Include metadata" off.
    now = await tabTo(page, (f) => f.tag === 'button' && f.text.startsWith('Options'), { each: inside })
    assert.equal(now.expanded, 'false')
    await page.keyboard.press('Enter')
    assert.equal((await focused(page)).expanded, 'true')
    await tabTo(page, (f) => f.text === 'Include metadata', { each: inside })
    await page.keyboard.press('Space')
    assert.equal((await focused(page)).checked, false)
    // On to the primary button, once the count is there.
    await page.waitForFunction(() => document.querySelector('#scope-count-filtered')?.textContent === '40 matching')
    const sent = page.waitForRequest((r) => r.url().endsWith('/api/export/conversations') && r.method() === 'POST')
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Export 40 Conversations', { each: inside })
    await page.keyboard.press('Enter')
    const body = (await sent).postDataJSON()
    assert.equal(body.config.format, 'csv')
    assert.equal(body.config.includeMetadata, false)
    assert.deepEqual(body.filters, { tierTypes: ['edge_case'] })
    // The finished export's link has the focus: Enter downloads.
    await dialog.getByRole('link', { name: /^Download / }).waitFor()
    now = await focused(page)
    assert.ok(now.tag === 'a' && now.text.startsWith('Download '), `focus on the link: ${JSON.stringify(now)}`)
    const downloading = page.waitForEvent('download')
    await page.keyboard.press('Enter')
    const bytes = fs.readFileSync(await (await downloading).path())
    assert.ok(bytes.equals((await transform(jsonl(data), body)).data))
    // The trap: Tab from the last stop comes back to the first (Close).
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Close', { each: inside })
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    assert.equal((await focused(page)).text, 'Export')
  })

  await t.test('history: pages, filters, retry of an expired export, delete, the audit trail', async () => {
    const page = alicePage
    const before = await (await page.request.get(base + '/api/export/history?limit=1')).json()
    // More exports, so there are two pages of 10.
    const more = Math.max(7, 11 - before.total)
    for (let i = 0; i < more; i++) {
      // The browser's Origin, which Playwright's request API does not send
      // itself: a cookie POST without it is refused as cross-site.
      const r = await page.request.post(base + '/api/export/conversations', {
        data: { config: { scope: 'selected', format: i % 2 ? 'json' : 'markdown' }, conversationIds: [`conv-000000${i}`] },
        headers: { origin: base },
      })
      assert.equal(r.status(), 201)
    }
    const total = before.total + more
    assert.ok(total > 10, `${total} exports`)
    // The small CSV export expires; another one failed.
    sql(url, `UPDATE lora_export.export_logs SET expires_at = now() - interval '1 minute' WHERE export_id = '${smallExport.export_id}'`)
    await page.goto(base + '/history')
    const rows = page.locator('tbody tr[data-export-id]')
    await rows.first().waitFor()
    assert.equal(await rows.count(), 10)
    assert.match(await page.locator('.lx-pager span').textContent(), new RegExp(`Page 1 of 2 · ${total} items`))
    const headers = await page.locator('thead th').allTextContents()
    assert.deepEqual(headers.map((h) => h.replace(/[▲▼↕]/g, '')), ['File', 'Format', 'Status', 'Conversations', 'Size', 'Created', 'Expires', 'Actions'])
    // Newest first is the sort shown; a header is a button, Enter sorts by it
    // (the server sorts: across pages), again reverses it.
    const createdHeader = page.getByRole('columnheader', { name: /Created/ })
    assert.equal(await createdHeader.getAttribute('aria-sort'), 'descending')
    const sizeHeader = page.getByRole('columnheader', { name: /Conversations/ })
    assert.equal(await sizeHeader.getAttribute('aria-sort'), 'none')
    const sorted = page.waitForResponse((r) => r.url().includes('/api/export/history') && r.url().includes('sort=conversation_count') && r.url().includes('order=desc'))
    await sizeHeader.getByRole('button').focus()
    await page.keyboard.press('Enter')
    await sorted
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith('Conversations'))
    assert.equal(await createdHeader.getAttribute('aria-sort'), 'none')
    const counts = async () => (await page.locator('tbody tr[data-export-id] td.lx-num').allTextContents()).filter((_, i) => i % 2 === 0).map(Number)
    let shown = await counts()
    assert.deepEqual(shown, [...shown].sort((a, b) => b - a), 'largest count first')
    const everyExport = (await (await page.request.get(base + '/api/export/history?limit=100')).json()).items
    assert.equal(shown[0], Math.max(...everyExport.map((i) => i.conversation_count)), 'the largest export of both pages heads the sort')
    const ascending = page.waitForResponse((r) => r.url().includes('sort=conversation_count') && r.url().includes('order=asc'))
    await page.keyboard.press('Space')
    await ascending
    await page.waitForFunction(() => document.querySelector('th[aria-sort="ascending"]')?.textContent?.startsWith('Conversations'))
    shown = await counts()
    assert.deepEqual(shown, [...shown].sort((a, b) => a - b), 'smallest count first')
    await createdHeader.getByRole('button').click()
    await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith('Created'))
    // A date range: tomorrow on holds nothing, today holds every export.
    const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
    await page.getByLabel('From', { exact: true }).fill(day(1))
    await page.locator('.lx-pager span').filter({ hasText: /· 0 items/ }).waitFor()
    await page.getByText('No exports yet.').waitFor()
    await page.getByLabel('From', { exact: true }).fill(day(-1))
    await page.getByLabel('To', { exact: true }).fill(day(1))
    await page.locator('.lx-pager span').filter({ hasText: new RegExp(`· ${total} items`) }).waitFor()
    await page.getByLabel('From', { exact: true }).fill('')
    await page.getByLabel('To', { exact: true }).fill('')
    await page.locator('.lx-pager span').filter({ hasText: new RegExp(`Page 1 of 2 · ${total} items`) }).waitFor()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.locator('.lx-pager span').filter({ hasText: 'Page 2 of 2' }).waitFor()
    assert.equal(await rows.count(), total - 10)
    await page.getByRole('button', { name: 'Previous' }).click()
    await page.locator('.lx-pager span').filter({ hasText: 'Page 1 of 2' }).waitFor()

    // Filters: Format and Status.
    await page.getByLabel('Format').selectOption('csv')
    await page.locator('.lx-pager span').filter({ hasText: /· 2 items/ }).waitFor()
    await page.getByLabel('Status').selectOption('expired')
    await page.locator('.lx-pager span').filter({ hasText: /· 1 item$/ }).waitFor()
    const expired = page.locator(`tr[data-export-id="${smallExport.export_id}"]`)
    assert.match(await expired.textContent(), /expired/)
    assert.match(await expired.locator('.lx-status-message').textContent(), /^Expired .*; retry to export it again$/, 'why it is expired, and what to do')
    assert.equal(await expired.getByRole('link', { name: /^Download/ }).count(), 0, 'no download for an expired export')

    // Retry: a new export from the stored request; the list shows it first.
    const retried = page.waitForResponse((r) => r.url().includes(`/api/export/retry/${smallExport.export_id}`))
    await expired.getByRole('button', { name: /^Retry/ }).click()
    const created = await (await retried).json()
    assert.equal(created.status, 'completed')
    assert.notEqual(created.export_id, smallExport.export_id)
    await page.getByRole('status').filter({ hasText: 'Retried' }).waitFor()
    const fresh = page.locator(`tr[data-export-id="${created.export_id}"]`)
    await fresh.waitFor()
    assert.equal(await rows.first().getAttribute('data-export-id'), created.export_id, 'newest first')
    assert.match(await fresh.textContent(), /completed/)
    assert.match(await page.locator('.lx-pager span').textContent(), new RegExp(`${total + 1} items`))
    const downloading = page.waitForEvent('download')
    await fresh.getByRole('link', { name: /^Download/ }).click()
    const bytes = fs.readFileSync(await (await downloading).path())
    assert.ok(bytes.equals((await transform(jsonl(data), smallRequest)).data), 'the retried export is the same request again')

    // A failed export offers Retry too (for the screenshot: one of each state).
    sql(url, `UPDATE lora_export.export_logs SET status = 'failed', error_message = 'storage unavailable (simulated)' WHERE export_id = '${largeExport.export_id}'`)
    await page.getByRole('button', { name: 'Refresh' }).click()
    const failed = page.locator(`tr[data-export-id="${largeExport.export_id}"]`)
    await failed.filter({ hasText: 'failed' }).waitFor()
    assert.equal(await failed.getByRole('button', { name: /^Retry/ }).count(), 1)
    assert.equal(await failed.locator('.lx-status-message').textContent(), 'Failed: storage unavailable (simulated)')

    // Delete.
    const victim = rows.nth(1)
    const victimId = await victim.getAttribute('data-export-id')
    await victim.getByRole('button', { name: /^Delete/ }).click()
    await page.getByRole('status').filter({ hasText: 'Deleted' }).waitFor()
    await page.locator(`tr[data-export-id="${victimId}"]`).waitFor({ state: 'detached' })

    // The audit trail: the user's own as a CSV download; every user's only for an admin.
    const own = page.getByRole('link', { name: 'Download audit trail (CSV)' })
    assert.equal(await own.getAttribute('href'), '/api/export/audit')
    assert.equal(await page.getByRole('link', { name: 'All users (admin)' }).getAttribute('href'), '/api/export/audit?all=1')
    const auditing = page.waitForEvent('download')
    await own.click()
    const audit = fs.readFileSync(await (await auditing).path(), 'utf8')
    assert.ok(audit.includes(created.export_id), 'the audit trail lists the retried export')
    assert.equal((await page.request.get(base + '/api/export/audit?all=1')).status(), 403)
    const adminContext = await contextFor(es256(claims(admin, supabaseUrl, { app_metadata: { role: 'admin' } }), key))
    const everyone = await adminContext.request.get(base + '/api/export/audit?all=1')
    assert.equal(everyone.status(), 200)
    assert.ok((await everyone.text()).includes(alice), "every user's trail has alice's exports")

    // /admin/exports: every user's exports for the admin, with a user filter.
    const adminPage = await adminContext.newPage()
    await adminPage.goto(base + '/admin/exports')
    const adminRows = adminPage.locator('tbody tr[data-export-id]')
    await adminRows.first().waitFor()
    const users = await adminPage.locator('tbody td.lx-user').allTextContents()
    assert.ok(users.includes(alice), 'alice\'s exports are listed')
    const filtered = adminPage.waitForResponse((r) => r.url().includes(`/api/export/admin/history?`) && r.url().includes(`user=${bob}`))
    await adminPage.getByLabel('User').fill(bob)
    assert.equal((await filtered).status(), 200)
    await adminPage.locator('.lx-pager span').filter({ hasText: /· 0 items/ }).waitFor()
    await adminPage.getByLabel('User').fill(alice)
    await adminPage.locator('.lx-pager span').filter({ hasText: new RegExp(`· ${total} items`) }).waitFor()
    assert.deepEqual(new Set(await adminPage.locator('tbody td.lx-user').allTextContents()), new Set([alice]))
    assert.equal(await adminPage.getByRole('button', { name: /^Delete/ }).count(), 0, 'the admin view only reads')
    await adminContext.close()
    // Alice is no admin: the page shows the 403, the route answers it.
    await page.goto(base + '/admin/exports')
    await page.getByRole('alert').filter({ hasText: 'Only an administrator' }).waitFor()
    assert.equal((await page.request.get(base + '/api/export/admin/history')).status(), 403)
  })

  await t.test('history: a dataset export lists its files, each a download of its own', async () => {
    const bobPage = await (await contextFor(es256(claims(bob, supabaseUrl), key))).newPage()
    const dataset = { split: 'train=0.8,validation=0.2', seed: 5 }
    const request = { config: { scope: 'filtered', format: 'jsonl' }, filters: { tierTypes: ['edge_case'] }, dataset }
    const r = await bobPage.request.post(base + '/api/export/conversations', { data: request, headers: { origin: base } })
    assert.equal(r.status(), 201)
    const created = await r.json()
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-export-browser-ds-')), 'out')
    await exportDataset(jsonl(data), dir, request, dataset)
    await bobPage.goto(base + '/history')
    const row = bobPage.locator(`tr[data-export-id="${created.export_id}"]`)
    await row.waitFor()
    await row.getByText(`${created.files.length} files`).click()
    for (const file of created.files) {
      const downloading = bobPage.waitForEvent('download')
      await row.getByRole('link', { name: file.name, exact: true }).click()
      const download = await downloading
      assert.equal(download.suggestedFilename(), file.name)
      assert.ok(undated(file.name, fs.readFileSync(await download.path())).equals(undated(file.name, fs.readFileSync(path.join(dir, file.name)))), file.name)
    }
    const zipping = bobPage.waitForEvent('download')
    await row.getByRole('link', { name: `Download ${created.file_name} (all ${created.files.length} files)` }).click()
    const zip = unzip(fs.readFileSync(await (await zipping).path()))
    assert.deepEqual([...zip.keys()], created.files.map((f) => f.name))
    await bobPage.context().close()
  })

  await t.test('screenshots at 1366×768 and 1920×1080: nothing cut off', async () => {
    // Into target/screenshots; LORA_EXPORT_UPDATE_SCREENSHOTS=1 also writes
    // the 1366×768 ones under docs/ that docs/nextjs.md shows (a test run
    // leaves the tree clean).
    const shots = path.join(repoRoot, 'target', 'screenshots')
    fs.mkdirSync(shots, { recursive: true })
    const docs = process.env.LORA_EXPORT_UPDATE_SCREENSHOTS === '1' ? path.join(repoRoot, 'docs') : null
    const page = alicePage
    for (const viewport of [{ width: 1366, height: 768 }, { width: 1920, height: 1080 }]) {
      const size = `${viewport.width}x${viewport.height}`
      await page.setViewportSize(viewport)
      const { dialog } = await openModal(page, { select: 2, edgeCases: true })
      await dialog.getByRole('button', { name: /Options \(/ }).click()
      await page.waitForFunction(() => !document.querySelector('#scope-count-all')?.textContent?.includes('…'))
      await page.waitForSelector('.lx-preview:not([aria-busy="true"]) .lx-jsonl-line')
      await page.mouse.move(0, 0)
      // The whole dialog inside the viewport, its actions visible and clickable there.
      const box = await dialog.boundingBox()
      assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height, `${size}: dialog ${JSON.stringify(box)} fits`)
      for (const button of [dialog.getByRole('button', { name: 'Cancel' }), exportButton(dialog), dialog.getByRole('button', { name: 'Close' })]) {
        assert.ok(await button.isVisible(), `${size}: ${await button.textContent()} visible`)
        const b = await button.boundingBox()
        assert.ok(b.y >= box.y && b.y + b.height <= box.y + box.height && b.x + b.width <= viewport.width, `${size}: ${await button.textContent()} inside the dialog`)
        await button.click({ trial: true })
      }
      const modalShot = path.join(shots, `export-modal-${size}.png`)
      await page.screenshot({ path: modalShot })
      await page.keyboard.press('Escape')
      await page.goto(base + '/history')
      await page.locator('tbody tr[data-export-id]').first().waitFor()
      // The history table's last column (the actions) is on screen, not scrolled off.
      const actions = page.locator('tbody tr[data-export-id]').first().getByRole('button', { name: /^Delete/ })
      const a = await actions.boundingBox()
      assert.ok(a.x + a.width <= viewport.width, `${size}: the row actions are on screen`)
      const historyShot = path.join(shots, `history-${size}.png`)
      await page.screenshot({ path: historyShot })
      for (const file of [modalShot, historyShot]) {
        const png = fs.readFileSync(file)
        assert.equal(png.readUInt32BE(16), viewport.width, `${file} width`)
        assert.equal(png.readUInt32BE(20), viewport.height, `${file} height`)
      }
      if (docs && viewport.width === 1366) {
        fs.copyFileSync(modalShot, path.join(docs, 'export-modal.png'))
        fs.copyFileSync(historyShot, path.join(docs, 'history.png'))
      }
    }
    await page.setViewportSize(VIEWPORT)
  })
})
