// SPDX-License-Identifier: MIT
// views.js - what the page shows: messages in words, the status line and
// the tables.  Text goes in with textContent only, never as HTML.

const $ = (id) => document.getElementById(id);
export { $ };

export function duration(s) {
    if (s < 120) return s + ' seconds';
    if (s < 7200) return Math.ceil(s / 60) + ' minutes';
    return Math.ceil(s / 3600) + ' hours';
}

// An error of api.js in words, for what the user was doing.
export function errorText(e, doing) {
    const wait = e.retryAfter !== null && e.retryAfter !== undefined ?
        duration(e.retryAfter) : null;
    switch (e.status) {
    case 0:
        return 'The server cannot be reached. Check your connection and try again.';
    case 400:
        return 'The server refused the request: ' + e.message + '.';
    case 401:
        return 'Wrong email or password.';
    case 403:
        if (e.message === 'log in first')
            return 'Your session has ended. Please log in again.';
        return 'Not allowed: ' + e.message + '.';
    case 404:
        return doing === 'user' ? 'There is no such user.' : 'Not found: ' + e.message + '.';
    case 409:
        if (/last administrator/.test(e.message))
            return 'This is the last administrator: make another user an administrator first.';
        if (/exists/.test(e.message))
            return 'A user with this email already exists.';
        return 'Conflict: ' + e.message + '.';
    case 429:
        return 'Too many attempts. Try again in ' + (wait || 'a while') + '.';
    case 503:
        return 'The server is busy or its database is unavailable. Try again in ' +
            (wait || 'a few seconds') + '.';
    case 507:
        return 'The server has no space left to store the change.';
    default:
        return 'The server failed (' + e.status + '): ' + e.message + '.';
    }
}

export function say(text, kind) {
    const m = $('message');
    m.textContent = text;
    m.className = 'message' + (text ? ' ' + (kind || 'error') : '');
}

export function showStatus(s) {
    const parts = ['userapid ' + s.version];
    if (s.state && s.state !== 'ok') parts.push(s.state);
    parts.push(s.workers + ' workers', s.users + ' users', 'up ' + duration(s.uptime));
    $('status').textContent = parts.join(' · ');
}

export function when(iso) {
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
}

function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
}

function button(text, cls, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
}
export { button };

export function emptyRow(tbody, cols, text) {
    const tr = document.createElement('tr');
    const td = cell(tr, text, 'empty');
    td.colSpan = cols;
    tbody.replaceChildren(tr);
}

// The caller's sessions; onEnd(session) ends one.
export function renderSessions(list, onEnd) {
    const tbody = $('sessions-body');
    tbody.replaceChildren();
    for (const s of list) {
        const tr = document.createElement('tr');
        cell(tr, when(s.created_at)).dataset.label = 'Started';
        cell(tr, when(s.last_used)).dataset.label = 'Last used';
        cell(tr, when(s.expires_at)).dataset.label = 'Ends';
        cell(tr, s.address || '—').dataset.label = 'Address';
        const td = cell(tr, '');
        td.appendChild(button(s.current ? 'End (this one)' : 'End', 'secondary',
            () => onEnd(s)));
        tbody.appendChild(tr);
    }
    if (list.length === 0) emptyRow(tbody, 5, 'No sessions.');
}

// The users of a page; actions (admins only) are
// { role(user), remove(user) }.
export function renderUsers(list, me, actions) {
    const tbody = $('users-body');
    tbody.replaceChildren();
    for (const u of list) {
        const tr = document.createElement('tr');
        tr.dataset.email = u.email;
        cell(tr, u.email, 'email').dataset.label = 'Email';
        cell(tr, u.role, 'role').dataset.label = 'Role';
        cell(tr, when(u.created_at)).dataset.label = 'Created';
        if (actions) {
            const td = cell(tr, '', 'actions');
            td.appendChild(button(u.role === 'admin' ? 'Make user' : 'Make admin',
                'secondary role-toggle', () => actions.role(u)));
            td.appendChild(button('Delete…', 'danger delete', () => confirmDelete(td, u, actions)));
        }
        tbody.appendChild(tr);
    }
    if (list.length === 0) emptyRow(tbody, actions ? 4 : 3, 'No users match.');
}

// Deleting asks first, in the row: Delete <email>? [Yes, delete] [Cancel].
function confirmDelete(td, u, actions) {
    const keep = Array.from(td.childNodes);
    const q = document.createElement('span');
    q.className = 'confirm';
    q.textContent = 'Delete ' + u.email + '? ';
    const yes = button('Yes, delete', 'danger confirm-delete', () => actions.remove(u));
    const no = button('Cancel', 'secondary', () => {
        td.replaceChildren(...keep);
        keep[keep.length - 1].focus();
    });
    td.replaceChildren(q, yes, no);
    no.focus();
}
