// SPDX-License-Identifier: MIT
// app.js - the web app of userapid: shows the login forms or the account
// (and, for admins, the users) and wires the forms to api.js.  The only
// state kept is what is on the screen; the session is the HttpOnly cookie.

import * as api from './api.js';
import { $, say, errorText, showStatus, when, renderSessions, renderUsers } from './views.js';

const PAGE = 20;
let me = null;                  // { email, role, expires_at } of GET /session
let pages = [null];             // the cursors of the pages seen: after=
let page = 0;
let query = '';

async function refreshStatus() {
    try {
        showStatus(await api.status());
    } catch (e) {
        $('status').textContent = errorText(e);
    }
}

function show(view) {
    $('loading').hidden = true;
    $('login-view').hidden = view !== 'login';
    $('account-view').hidden = view !== 'account';
}

// Runs fn for a form or button, with its buttons off meanwhile; an error
// is said in words.
async function act(el, fn, doing) {
    const buttons = el.tagName === 'FORM' ? el.querySelectorAll('button') : [el];
    buttons.forEach((b) => { b.disabled = true; });
    try {
        await fn();
    } catch (e) {
        say(errorText(e, doing));
        if (e.status === 403 && e.message === 'log in first') await start();
    } finally {
        buttons.forEach((b) => { b.disabled = false; });
    }
}

async function start() {
    try {
        me = await api.session();
    } catch (e) {
        me = null;
        if (e.status !== 403) say(errorText(e));
    }
    if (me === null) {
        show('login');
        return;
    }
    $('me-email').textContent = me.email;
    $('me-role').textContent = me.role;
    $('me-expires').textContent = when(me.expires_at);
    const admin = me.role === 'admin';
    document.body.classList.toggle('is-admin', admin);
    $('users-title').textContent = admin ? 'Users' : 'My record';
    $('search-form').hidden = !admin;
    $('next-page').parentElement.hidden = !admin;
    show('account');
    pages = [null];
    page = 0;
    await Promise.all([loadSessions(), loadUsers()]);
}

async function loadSessions() {
    try {
        renderSessions(await api.sessions(), (s) => act(document.activeElement, async () => {
            await api.endSession(s.id);
            if (s.current) {
                say('This session has ended.', 'ok');
                await start();
            } else {
                say('The session has ended.', 'ok');
                await loadSessions();
            }
        }));
    } catch (e) {
        say(errorText(e));
    }
}

async function loadUsers() {
    const admin = me.role === 'admin';
    try {
        const res = await api.users(PAGE, pages[page], admin ? query : '');
        renderUsers(res.users, me, admin ? { role: changeRole, remove: removeUser } : null);
        if (res.next && pages.length === page + 1) pages.push(res.next);
        $('next-page').disabled = !res.next;
        $('prev-page').disabled = page === 0;
        $('page-info').textContent = admin ? 'Page ' + (page + 1) : '';
    } catch (e) {
        say(errorText(e));
    }
}

function changeRole(u) {
    const role = u.role === 'admin' ? 'user' : 'admin';
    return act(document.activeElement, async () => {
        await api.setRole(u.email, role);
        say(u.email + ' is now ' + (role === 'admin' ? 'an admin' : 'a user') + '.', 'ok');
        if (u.email === me.email) await start();
        else await loadUsers();
    }, 'user');
}

function removeUser(u) {
    return act(document.activeElement, async () => {
        await api.deleteUser(u.email);
        say(u.email + ' was deleted.', 'ok');
        await loadUsers();
        refreshStatus();
    }, 'user');
}

function onSubmit(id, fn, doing) {
    const form = $(id);
    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        say('');
        act(form, () => fn(form), doing);
    });
}

function wire() {
    onSubmit('login-form', async (f) => {
        await api.login(f.email.value, f.password.value);
        f.reset();
        say('');
        await start();
    });
    onSubmit('register-form', async (f) => {
        const email = f.email.value;
        await api.register(email, f.password.value);
        f.reset();
        say('Your account ' + email + ' was created: log in with it.', 'ok');
        $('login-email').value = email;
        $('login-password').focus();
        refreshStatus();
    });
    onSubmit('password-form', async (f) => {
        await api.changeOwnPassword(me.email, f.current_password.value, f.password.value);
        f.reset();
        say('Your password was changed.', 'ok');
    });
    onSubmit('create-form', async (f) => {
        const email = f.email.value;
        await api.createUser(email, f.password.value, f.role.value);
        f.reset();
        say('The user ' + email + ' was created.', 'ok');
        await loadUsers();
        refreshStatus();
    });
    onSubmit('reset-form', async (f) => {
        const email = f.email.value;
        await api.resetPassword(email, f.password.value);
        f.reset();
        say('The password of ' + email + ' was reset.', 'ok');
    }, 'user');
    onSubmit('search-form', async (f) => {
        query = f.q.value.trim();
        pages = [null];
        page = 0;
        await loadUsers();
    });
    $('next-page').addEventListener('click', () => {
        if (page + 1 < pages.length) { page++; loadUsers(); }
    });
    $('prev-page').addEventListener('click', () => {
        if (page > 0) { page--; loadUsers(); }
    });
    $('logout').addEventListener('click', (ev) => act(ev.currentTarget, async () => {
        await api.logout();
        say('You are logged out.', 'ok');
        await start();
    }));
    $('logout-all').addEventListener('click', (ev) => act(ev.currentTarget, async () => {
        await api.logoutEverywhere();
        say('Every session of yours has ended.', 'ok');
        await start();
    }));
}

wire();
refreshStatus();
start();
