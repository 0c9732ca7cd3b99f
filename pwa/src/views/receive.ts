// Receiving a dossier at the counter: pick the procedure (searchable), tick
// the documents handed in, enter the applicant, collect the fee. The code
// and the appointment are issued on this device at once, online or not.
import { changed, state } from '../lib/app';
import { CoreError, type HandedDocument, type ProcedureView } from '../lib/core';
import { h, mount } from '../lib/dom';
import { dateTime, longDate, money, time } from '../lib/format';
import { named, t } from '../lib/i18n';

function processing(p: ProcedureView['procedure']): string {
  const { amount, unit } = p.processing_time;
  if (amount === 0) return t('sameDay');
  return unit === 'working_hours' ? t('workingHours', { n: amount }) : t('workingDays', { n: amount });
}

export function receiveView(main: HTMLElement): void {
  main.dataset.live = 'false';
  const core = state.core!;
  let chosen: ProcedureView | null = null;
  let docs: (HandedDocument & { handed: boolean })[] = [];

  const picker = h('div', { class: 'picker' });
  const chosenBox = h('div', { class: 'chosen' });
  const docsBox = h('div', { class: 'docs' });
  const feeBox = h('div', { class: 'fee-box' });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'receive-error' });

  const query = h('input', {
    type: 'search',
    id: 'procedure-search',
    placeholder: t('pickProcedure'),
    autocomplete: 'off',
    oninput: () => showChoices(),
  });

  function showChoices(): void {
    const found = core.procedures(query.value).slice(0, 30);
    mount(
      picker,
      h('ul', { class: 'choices', role: 'listbox' },
        found.map((p) =>
          h('li', {},
            h('button', { type: 'button', class: 'choice', 'data-id': p.procedure.id, onclick: () => choose(p) },
              h('span', { class: 'choice-name' }, p.procedure.name),
              h('span', { class: 'muted small' }, `${p.procedure.id} · ${named(p.field_name)} · ${processing(p.procedure)} · ${p.procedure.fee.amount_vnd ? money(p.procedure.fee.amount_vnd) : t('free')}`),
            ),
          ),
        ),
      ),
    );
  }

  function choose(p: ProcedureView): void {
    chosen = p;
    docs = p.checklist.map((d) => ({ ...d, handed: true }));
    mount(picker);
    query.value = '';
    mount(
      chosenBox,
      h('div', { class: 'chosen-card' },
        h('div', {},
          h('strong', { id: 'chosen-procedure' }, p.procedure.name),
          h('div', { class: 'muted small' }, `${p.procedure.id} · ${named(p.field_name)} · ${t('processingTime')}: ${processing(p.procedure)}`),
        ),
        h('button', { type: 'button', class: 'ghost', onclick: () => { chosen = null; mount(chosenBox); mount(docsBox); mount(feeBox); showChoices(); query.focus(); } }, '✕'),
      ),
    );
    drawDocs();
    mount(
      feeBox,
      h('p', {}, `${t('fee')}: `, h('strong', {}, p.procedure.fee.amount_vnd ? money(p.procedure.fee.amount_vnd) : t('free')), p.procedure.fee.note ? h('span', { class: 'muted small' }, ` (${p.procedure.fee.note})`) : null),
      p.procedure.fee.amount_vnd ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'fee_paid' }), t('feePaid')) : null,
    );
  }

  function drawDocs(): void {
    mount(
      docsBox,
      h('table', { class: 'doc-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('handedIn')), h('th', {}, t('docName')), h('th', {}, t('docForm')), h('th', {}, t('docCount')))),
        h('tbody', {},
          docs.map((d, i) =>
            h('tr', {},
              h('td', {}, h('input', { type: 'checkbox', checked: d.handed, 'aria-label': t('handedIn'), onchange: (e: Event) => { docs[i].handed = (e.target as HTMLInputElement).checked; } })),
              h('td', {}, h('textarea', { rows: Math.min(4, Math.max(1, Math.ceil(d.name.length / 48))), class: 'doc-name', 'aria-label': t('docName'), oninput: (e: Event) => { docs[i].name = (e.target as HTMLTextAreaElement).value; } }, d.name)),
              h('td', {},
                h('select', { onchange: (e: Event) => { docs[i].form = (e.target as HTMLSelectElement).value as HandedDocument['form']; } },
                  (['original', 'copy', 'certified_copy'] as const).map((f) => h('option', { value: f, selected: d.form === f }, t(f))),
                ),
              ),
              h('td', {}, h('input', { type: 'number', min: 1, max: 1000, value: d.count, class: 'count', oninput: (e: Event) => { docs[i].count = Number((e.target as HTMLInputElement).value) || 1; } })),
            ),
          ),
        ),
      ),
      h('button', { type: 'button', class: 'link', onclick: () => { docs.push({ name: '', form: 'copy', count: 1, handed: true }); drawDocs(); } }, `+ ${t('addDocument')}`),
    );
  }

  const field = (name: string, label: string, attrs: Record<string, string | boolean> = {}) =>
    h('label', { 'data-field': name }, label, h('input', { name, ...attrs }));

  const form = h(
    'form',
    {
      class: 'receive',
      id: 'receive-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.textContent = '';
        form.querySelectorAll('.invalid').forEach((x) => x.classList.remove('invalid'));
        if (!chosen) {
          error.textContent = t('chooseProcedureFirst');
          query.focus();
          return;
        }
        const data = new FormData(form);
        const value = (k: string) => String(data.get(k) ?? '');
        try {
          const view = core.receive({
            procedure_id: chosen.procedure.id,
            full_name: value('full_name'),
            id_number: value('id_number'),
            phone: value('phone'),
            address: value('address'),
            documents: docs.filter((d) => d.handed && d.name.trim()).map(({ name, form, count }) => ({ name, form, count })),
            sets: Number(value('sets')) || 1,
            channel: value('channel') || 'direct',
            fee_paid: data.get('fee_paid') === 'on',
            note: value('note'),
          });
          await changed();
          receivedView(main, view.row.doc_id);
        } catch (err) {
          const ce = err instanceof CoreError ? err : new CoreError(String(err), null);
          error.textContent = ce.message;
          if (ce.field) form.querySelector(`[data-field="${ce.field}"]`)?.classList.add('invalid');
        }
      },
    },
    h('section', { class: 'card' }, h('h2', {}, t('step1')), chosenBox, query, picker),
    h('section', { class: 'card' }, h('h2', {}, t('step2')), docsBox),
    h('section', { class: 'card grid' },
      h('h2', { class: 'span' }, t('step3')),
      field('full_name', t('fullName'), { required: true, autocomplete: 'off' }),
      field('id_number', t('idNumber'), { required: true, inputmode: 'numeric', autocomplete: 'off' }),
      field('phone', t('phone'), { type: 'tel', inputmode: 'tel', autocomplete: 'off' }),
      h('label', { class: 'span', 'data-field': 'address' }, t('address'), h('input', { name: 'address', autocomplete: 'off' })),
      h('label', {}, t('channel'),
        h('select', { name: 'channel' }, h('option', { value: 'direct' }, t('direct')), h('option', { value: 'postal' }, t('postal')), h('option', { value: 'online' }, t('online_channel'))),
      ),
      h('label', {}, t('sets'), h('input', { name: 'sets', type: 'number', min: 1, max: 100, value: 1 })),
    ),
    h('section', { class: 'card' }, h('h2', {}, t('step4')), feeBox, h('label', {}, t('note'), h('textarea', { name: 'note', rows: 2 }))),
    error,
    h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary big', id: 'receive-submit' }, t('receiveButton'))),
  );
  mount(main, h('div', { class: 'page-head' }, h('h1', {}, t('receiveTitle'))), form);
  showChoices();
  query.focus();
}

/** Right after receiving: the code and the appointment, big, and what next. */
function receivedView(main: HTMLElement, docId: string): void {
  const v = state.core!.dossier(docId);
  mount(
    main,
    h('section', { class: 'card success', id: 'received' },
      h('p', { class: 'muted' }, t('received', { code: '' }).trim()),
      h('p', { class: 'big-code', id: 'new-code' }, v.row.code),
      h('dl', { class: 'facts' },
        h('dt', {}, t('applicant')), h('dd', {}, v.dossier.applicant.full_name),
        h('dt', {}, t('procedure')), h('dd', {}, v.dossier.procedure.name),
        h('dt', {}, t('receivedAt')), h('dd', {}, dateTime(v.dossier.received_at)),
        h('dt', {}, t('appointment')), h('dd', { id: 'new-appointment' }, h('strong', {}, `${time(v.dossier.due_at)} ${longDate(v.dossier.due_at)}`)),
      ),
      h('p', { class: 'muted small' }, t('receivedOffline')),
      h('div', { class: 'actions' },
        h('a', { class: 'button primary', href: `#/in/01/${docId}`, id: 'print-01' }, t('printForm01')),
        h('a', { class: 'button secondary', href: `#/ho-so/${docId}` }, t('openDossier')),
        h('button', { class: 'secondary', onclick: () => receiveView(main) }, t('receiveAnother')),
      ),
    ),
  );
}
