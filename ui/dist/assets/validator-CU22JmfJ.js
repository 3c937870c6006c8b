import{S as i}from"./index-DzJj0Jlu.js";const n=o=>["",...i].includes(o);export{n as i};
